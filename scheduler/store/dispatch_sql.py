"""The statements of the dispatch hot path (claims, receipts, leases, their history), built once at import.

Building a SQLAlchemy statement costs several times more than running it, so what runs for every post is built
here once, with bound parameters for its values, and run as a :class:`~scheduler.store.prepared.Prepared`
statement (compiled once per database, run on its driver). Times are bound with the columns' type
(:class:`~scheduler.store.schema.UTCDateTime`), so they compare correctly on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import bindparam, exists, or_, select

from scheduler.store.models import DeliveryState
from scheduler.store.prepared import Prepared
from scheduler.store.schema import UTCDateTime, channel_pauses, deliveries, transitions

SENDING = DeliveryState.SENDING.value

_busy = deliveries.alias("busy")
_PAUSED_NOW = channel_pauses.c.until.is_(None) | (channel_pauses.c.until > bindparam("now"))

_DUE_CHANNELS = (
    select(deliveries.c.channel)
    .where(
        deliveries.c.due_at <= bindparam("now"),
        deliveries.c.channel.not_in(select(channel_pauses.c.channel).where(_PAUSED_NOW)),
        # busy: skipped here (SQLite: final, its BEGIN IMMEDIATE excludes other writers); on PostgreSQL
        # checked again by HEAD under the channel's lock
        deliveries.c.channel.not_in(select(_busy.c.channel).where(_busy.c.state == SENDING)),
    )
    .order_by(deliveries.c.due_at, deliveries.c.channel)
)
DUE_CHANNELS = Prepared(_DUE_CHANNELS)
"""The channel of each due delivery, neither paused nor busy at ``now``, the longest due first: read along
the ``due_at`` index, and only as far as needed (:meth:`DispatchMixin.claim_due` stops reading once it has
enough channels), so a claim costs the same in a queue of a million posts."""

HEAD = Prepared(
    select(deliveries)
    .where(
        deliveries.c.channel == bindparam("channel"),
        # the state narrows the index range to the channel's queue; due_at is NULL in every other state
        or_(
            deliveries.c.state == DeliveryState.PLANNED.value,
            deliveries.c.state == DeliveryState.RETRYING.value,
        ),
        deliveries.c.due_at <= bindparam("now"),
        ~exists().where(_busy.c.channel == bindparam("channel"), _busy.c.state == SENDING),
        ~exists().where(channel_pauses.c.channel == bindparam("channel"), _PAUSED_NOW),
    )
    .order_by(deliveries.c.scheduled_at, deliveries.c.id)
    .limit(1)
)
"""The first due delivery of ``channel`` in slot order; none when it is busy or paused at ``now``."""

_NEXT_HEAD_WHERE = (
    deliveries.c.channel == _DUE_CHANNELS.limit(1).scalar_subquery(),
    or_(
        deliveries.c.state == DeliveryState.PLANNED.value,
        deliveries.c.state == DeliveryState.RETRYING.value,
    ),
    deliveries.c.due_at <= bindparam("now"),
)
_SLOT_ORDER = (deliveries.c.scheduled_at, deliveries.c.id)

NEXT_HEAD = Prepared(select(deliveries).where(*_NEXT_HEAD_WHERE).order_by(*_SLOT_ORDER).limit(1))
""":data:`DUE_CHANNELS` and :data:`HEAD` in one statement: the first due delivery, in slot order, of the
channel due longest that is neither busy nor paused at ``now`` (what one claim of :meth:`claim_due` takes).
One statement instead of two for every post a receipt claims; on PostgreSQL the claim then takes the
channel's lock and reads the head again with :data:`HEAD`."""

_CLAIM = {
    "state": SENDING,
    "attempts": deliveries.c.attempts + 1,
    "claimed_by": bindparam("worker"),
    "lease_until": bindparam("lease_until"),
    "due_at": None,
    "updated_at": bindparam("now"),
}
"""What a claim sets: ``sending``, one attempt more, leased to ``worker`` until ``lease_until``."""

TAKE = Prepared(
    deliveries.update()
    .where(
        deliveries.c.id == bindparam("delivery_id"),
        or_(
            deliveries.c.state == DeliveryState.PLANNED.value,
            deliveries.c.state == DeliveryState.RETRYING.value,
        ),
    )
    .values(**_CLAIM)
)
"""The claim of the delivery ``delivery_id``, just read in this transaction: a compare-and-set (it must still
be claimable)."""


def _take_next(state: DeliveryState) -> Prepared:
    return Prepared(
        deliveries.update()
        .where(
            deliveries.c.id
            == select(deliveries.c.id)
            .where(*_NEXT_HEAD_WHERE)
            .order_by(*_SLOT_ORDER)
            .limit(1)
            .scalar_subquery(),
            deliveries.c.state == state.value,
        )
        .values(**_CLAIM)
        .returning(*deliveries.c)
    )


TAKE_NEXT = {state: _take_next(state) for state in (DeliveryState.PLANNED, DeliveryState.RETRYING)}
"""SQLite: :data:`NEXT_HEAD` and :data:`TAKE` in one statement, the claimed row as it now is (``RETURNING``),
for a head in the given state (the state it was claimed from is its history's; SQLite's ``RETURNING`` gives
only the new values). One statement instead of two for every post a receipt claims in a burst."""


def history_insert(count: int) -> Prepared:
    """``count`` rows of history in one statement: the values of :data:`TRANSITION`, each name suffixed
    ``_1`` to ``_<count>``. Built once per count."""
    if count not in _HISTORY_INSERTS:
        _HISTORY_INSERTS[count] = Prepared(
            transitions.insert().values(
                [
                    {
                        "delivery_id": bindparam(f"delivery_id_{n}"),
                        "at": bindparam(f"at_{n}", type_=UTCDateTime),
                        "from_state": bindparam(f"from_state_{n}"),
                        "to_state": bindparam(f"to_state_{n}"),
                        "reason": bindparam(f"reason_{n}"),
                    }
                    for n in range(1, count + 1)
                ]
            )
        )
    return _HISTORY_INSERTS[count]


_HISTORY_INSERTS: dict[int, Prepared] = {}

TRANSITION = Prepared(
    transitions.insert().values(
        delivery_id=bindparam("delivery_id"),
        at=bindparam("at", type_=UTCDateTime),
        from_state=bindparam("from_state"),
        to_state=bindparam("to_state"),
        reason=bindparam("reason"),
    )
)
"""One row of a delivery's history."""

SENT = Prepared(
    deliveries.update()
    .where(deliveries.c.id == bindparam("delivery_id"), deliveries.c.state == SENDING)
    .values(
        state=DeliveryState.SENT.value,
        remote_ids=bindparam("remote_ids"),
        remote_url=bindparam("remote_url"),
        receipt=bindparam("receipt"),
        claimed_by=None,
        lease_until=None,
        next_attempt_at=None,
        due_at=None,
        updated_at=bindparam("now"),
    )
)
"""A receipt for a delivery in ``sending`` (the usual case; any other state takes the slow path)."""

JOURNAL = Prepared(
    deliveries.update()
    .where(deliveries.c.id == bindparam("delivery_id"))
    .values(journal=bindparam("journal"))
)

RENEW = Prepared(
    deliveries.update()
    .where(
        deliveries.c.id == bindparam("delivery_id"),
        deliveries.c.state == SENDING,
        deliveries.c.claimed_by == bindparam("worker"),
    )
    .values(lease_until=bindparam("lease_until"))
)
"""A lease renewed, only while ``worker`` still holds the delivery."""
