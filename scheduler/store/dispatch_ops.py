"""What the dispatcher needs: find the next due time, claim due deliveries, record what the network said.

Claims
    A channel sends one delivery at a time, in slot order. A claim gives a worker the head of a channel's due
    queue (its earliest slot), never for a paused channel, never while the channel has a delivery in
    ``sending``, and commits it (``synchronous = FULL`` on SQLite: on disk) before it returns, so before any
    network call. Only the head is claimed: the posts behind it stay ``planned`` (editable, cancellable)
    until their own turn.

The statements used for every post are built once, in :mod:`scheduler.store.dispatch_sql`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, exists, func, select, tuple_

from scheduler.store import dispatch_sql as sql
from scheduler.store.base import HistoryRow, StoreBase, may_share_commit
from scheduler.store.dialect import lock_channel, locks_rows, select_for_claim
from scheduler.store.errors import DeliveryConflict
from scheduler.store.models import ClaimRequest, Delivery, DeliveryState, utc
from scheduler.store.rows import delivery_from_row
from scheduler.store.schema import channel_pauses, deliveries

_SENDING = (DeliveryState.SENDING,)


class Receipt(Protocol):
    """What :meth:`DispatchMixin.mark_sent` reads from :class:`scheduler.adapters.base.Receipt` (the store is
    an earlier stage than delivery, so it does not import the adapters)."""

    @property
    def remote_ids(self) -> tuple[str, ...]: ...

    @property
    def url(self) -> str | None: ...

    @property
    def extra(self) -> dict[str, Any]: ...


def active_pauses(connection: Connection, now: datetime) -> dict[str, datetime | None]:
    """Channels paused at ``now``: channel -> until (None: until resumed)."""
    rows = connection.execute(
        select(channel_pauses.c.channel, channel_pauses.c.until).where(
            channel_pauses.c.until.is_(None) | (channel_pauses.c.until > now)
        )
    ).all()
    return dict(rows)


def busy_channels(connection: Connection) -> set[str]:
    """Channels with a delivery in ``sending``: they get nothing else until it is settled."""
    rows = connection.execute(
        select(deliveries.c.channel).where(deliveries.c.state == DeliveryState.SENDING.value).distinct()
    ).scalars()
    return set(rows)


def where_sent(receipt: Receipt) -> str:
    """How a receipt is named in the history and the log: its URL, else its remote ids."""
    return receipt.url or ", ".join(receipt.remote_ids) or "no remote id"


class DispatchMixin(StoreBase):
    """Claims and outcomes. Every method is one transaction; every state change records its reason."""

    @may_share_commit
    def next_due(self, now: datetime | None = None) -> datetime | None:
        """The earliest time a claim can succeed: the first due planned or retrying delivery of a channel that
        is neither paused nor busy sending (a channel paused ``until`` counts from then). None: nothing to do.

        A busy channel is left out, so that a long send cannot make the dispatcher spin; call again after
        each ``mark_*``.
        """
        with self._read() as connection:
            pauses = active_pauses(connection, utc(now) if now is not None else datetime.now(UTC))
            busy = busy_channels(connection)
            blocked = busy | set(pauses)
            first = connection.execute(
                select(deliveries.c.due_at)
                .where(deliveries.c.due_at.is_not(None), deliveries.c.channel.not_in(blocked))
                .order_by(deliveries.c.due_at)
                .limit(1)
            ).scalar()
            candidates = [first] if first is not None else []
            for channel, until in pauses.items():
                if until is None or channel in busy:
                    continue
                due = self._first_due(connection, channel)
                if due is not None:
                    candidates.append(max(due, until))
        return min(candidates, default=None)

    @staticmethod
    def _first_due(connection: Connection, channel: str) -> datetime | None:
        return connection.execute(
            select(func.min(deliveries.c.due_at)).where(
                deliveries.c.channel == channel, deliveries.c.due_at.is_not(None)
            )
        ).scalar()

    @may_share_commit
    def claim_due(self, now: datetime, *, worker: str, lease: timedelta, limit: int) -> list[Delivery]:
        """Atomically move the head of the due queue (its earliest slot) of at most ``limit`` channels to
        ``sending`` (attempts + 1, claimed by ``worker``, leased until ``now + lease``).

        The channels due longest go first; a paused channel and a channel that already has a
        delivery in ``sending`` get nothing. The whole claim is one write transaction (``BEGIN IMMEDIATE`` on
        SQLite, row and channel locks on PostgreSQL), so no two processes can claim the same delivery.
        """
        if limit < 1:
            return []
        with self._write() as connection:
            return self._claim(connection, ClaimRequest(utc(now), worker, lease, limit))

    def _claim(self, connection: Connection, request: ClaimRequest) -> list[Delivery]:
        """:meth:`claim_due` in this transaction."""
        now = utc(request.now)
        claimed: list[Delivery] = []
        for channel in self._due_channels(connection, now, request.limit):
            claimed += self._claim_head(
                connection, channel, now=now, worker=request.worker, lease=request.lease
            )
        return claimed

    @staticmethod
    def _due_channels(connection: Connection, now: datetime, limit: int) -> list[str]:
        """The first ``limit`` channels with a due delivery, not paused nor busy, the longest due first."""
        channels: list[str] = []
        with sql.DUE_CHANNELS.scalars(connection, now=now) as due:
            for channel in due:
                if channel not in channels:
                    channels.append(channel)
                    if len(channels) == limit:
                        break
        return channels

    def _claim_head(
        self, connection: Connection, channel: str, *, now: datetime, worker: str, lease: timedelta
    ) -> list[Delivery]:
        """Claim the head of ``channel``'s due queue in this transaction (none if locked elsewhere)."""
        rows = self._claim_head_rows(connection, channel, now)
        return self._take(connection, rows, channel, now=now, worker=worker, lease=lease)

    def _claim_head_rows(
        self, connection: Connection, channel: str, now: datetime
    ) -> Sequence[Mapping[str, Any]]:
        """The head of ``channel``'s due queue, read to be claimed in this transaction: none when the channel
        is busy, paused, or locked by another worker's claim."""
        if not lock_channel(connection, channel):
            return []
        rows: Sequence[Mapping[str, Any]] = sql.HEAD.mappings(connection, channel=channel, now=now)
        if rows and locks_rows(connection):
            rows = self._lock_heads(connection, rows, now)
        return rows

    def _take(
        self,
        connection: Connection,
        rows: Sequence[Mapping[str, Any]],
        channel: str,
        *,
        now: datetime,
        worker: str,
        lease: timedelta,
    ) -> list[Delivery]:
        """Move ``rows`` (read in this transaction) to ``sending`` for ``worker``, with their transitions."""
        claimed = []
        for row in rows:
            delivery, history = self._take_row(connection, row, now=now, worker=worker, lease=lease)
            self._write_history(connection, history)
            claimed.append(delivery)
        return claimed

    @staticmethod
    def _take_row(
        connection: Connection, row: Mapping[str, Any], *, now: datetime, worker: str, lease: timedelta
    ) -> tuple[Delivery, HistoryRow]:
        """Move ``row`` (read in this transaction) to ``sending`` for ``worker``: the claimed delivery, and
        the history row of its claim (still to be written)."""
        lease_until = now + lease
        params = {"delivery_id": row["id"], "worker": worker, "lease_until": lease_until, "now": now}
        if sql.TAKE.run(connection, **params) != 1:  # cannot happen under the locks
            raise DeliveryConflict(f"delivery {row['id']} of {row['channel']} changed while being claimed")
        attempts = row["attempts"] + 1
        history = HistoryRow(
            row["id"],
            now,
            DeliveryState(row["state"]),
            DeliveryState.SENDING,
            f"claimed by {worker} (attempt {attempts})",
        )
        claimed = {
            "state": DeliveryState.SENDING.value,
            "claimed_by": worker,
            "lease_until": lease_until,
            "due_at": None,
            "updated_at": now,
            "attempts": attempts,
        }
        return delivery_from_row({**row, **claimed}), history

    def _claim_next(
        self, connection: Connection, request: ClaimRequest
    ) -> tuple[Delivery, HistoryRow] | None:
        """One claim of :meth:`claim_due` in this transaction, in fewer statements: the delivery claimed and
        the history row of its claim (still to be written), or None. SQLite reads and claims the next head in
        one statement (:meth:`_take_next`); PostgreSQL reads it (:data:`sql.NEXT_HEAD`), then takes the
        channel's lock and reads its head again under it."""
        now = utc(request.now)
        if not locks_rows(connection):
            return self._take_next(connection, request, now)
        found = sql.NEXT_HEAD.first(connection, now=now)
        if found is None:
            return None
        rows = self._claim_head_rows(connection, found["channel"], now)
        if not rows:
            return None
        return self._take_row(connection, rows[0], now=now, worker=request.worker, lease=request.lease)

    @staticmethod
    def _take_next(
        connection: Connection, request: ClaimRequest, now: datetime
    ) -> tuple[Delivery, HistoryRow] | None:
        """:meth:`_claim_next` on SQLite, whose ``BEGIN IMMEDIATE`` transaction already has the database to
        itself: the next head claimed in one statement (:data:`sql.TAKE_NEXT`), tried as a planned post and
        then, when that claims nothing, as a retrying one."""
        values = {"worker": request.worker, "lease_until": now + request.lease, "now": now}
        for state, take in sql.TAKE_NEXT.items():
            row = take.first(connection, **values)
            if row is not None:
                reason = f"claimed by {request.worker} (attempt {row['attempts']})"
                history = HistoryRow(row["id"], now, state, DeliveryState.SENDING, reason)
                return delivery_from_row(row), history
        return None

    @staticmethod
    def _lock_heads(
        connection: Connection, rows: Sequence[Mapping[str, Any]], now: datetime
    ) -> list[Mapping[str, Any]]:
        """Read the rows again under row locks that skip rows locked elsewhere (PostgreSQL); the ones before
        the first row that could not be locked.

        The head of the channel's queue is locked, not merely the first unlocked row: when another
        transaction holds the head (an operator's edit, an ingest), the channel waits a round instead of
        jumping ahead.
        """
        query = select(deliveries).where(
            deliveries.c.id.in_([row["id"] for row in rows]), deliveries.c.due_at <= now
        )
        locked: dict[str, Mapping[str, Any]] = {
            row["id"]: dict(row) for row in connection.execute(select_for_claim(query, connection)).mappings()
        }
        prefix: list[Mapping[str, Any]] = []
        for row in rows:
            if row["id"] not in locked:
                break
            prefix.append(locked[row["id"]])
        return prefix

    @may_share_commit
    def save_journal(self, delivery_id: str, journal: dict[str, Any]) -> None:
        """Store the adapter's journal; committed (and on disk) when this returns, before the network call."""
        with self._write() as connection:
            if sql.JOURNAL.run(connection, delivery_id=delivery_id, journal=dict(journal)) != 1:
                self._row(connection, delivery_id)  # DeliveryNotFound

    @may_share_commit
    def renew_lease(self, delivery_id: str, *, worker: str, lease_until: datetime) -> None:
        """Extend the claim of ``worker``; DeliveryConflict when the claim is no longer its own."""
        with self._write() as connection:
            until = utc(lease_until)
            if sql.RENEW.run(connection, delivery_id=delivery_id, worker=worker, lease_until=until):
                return
            row = self._row(connection, delivery_id)
            raise DeliveryConflict(
                f"{worker} no longer holds delivery {delivery_id}: it is {row['state']}, "
                f"claimed by {row['claimed_by'] or 'nobody'}",
                hint="stop working on it; its new owner (or the operator) decides",
            )

    @may_share_commit
    def mark_sent(
        self, delivery_id: str, receipt: Receipt, *, now: datetime, then_claim: ClaimRequest | None = None
    ) -> list[Delivery]:
        """Record the receipt, in any state but ``sent``: when the network has the post, it is sent. With
        ``then_claim``, the same transaction then claims one post as :meth:`claim_due` does (the slot the
        receipt frees is filled again in one commit; ``then_claim.limit`` must be 1); what it claimed is
        returned.

        Without a claim the commit does not wait for the disk (:func:`~scheduler.store.dialect.relaxed`): the
        next claim's commit flushes it, and a power cut before that leaves the delivery in ``sending``, to be
        reconciled like a send the power cut interrupted (a crash of the process cannot lose it). With one,
        the commit is on disk before this returns, as every claim's is."""
        if then_claim is not None and then_claim.limit != 1:
            raise ValueError("a receipt frees one slot: then_claim claims one post (limit=1)")
        with self._write(durable=then_claim is not None) as connection:
            sent = self._mark_sent(connection, delivery_id, receipt, now=utc(now))
            claimed = self._claim_next(connection, then_claim) if then_claim is not None else None
            history = [row for row in (sent, claimed[1] if claimed else None) if row is not None]
            self._write_history(connection, *history)
            return [claimed[0]] if claimed else []

    def _mark_sent(
        self, connection: Connection, delivery_id: str, receipt: Receipt, *, now: datetime
    ) -> HistoryRow | None:
        """Record ``receipt`` for ``delivery_id`` in this transaction; the history row still to be written
        (None: written already, on the rare path)."""
        where = where_sent(receipt)
        params = {
            "delivery_id": delivery_id,
            "remote_ids": list(receipt.remote_ids),
            "remote_url": receipt.url,
            "receipt": dict(receipt.extra),
            "now": now,
        }
        if sql.SENT.run(connection, **params) == 1:  # it was sending: the usual case
            return HistoryRow(delivery_id, now, DeliveryState.SENDING, DeliveryState.SENT, f"sent: {where}")
        row = self._row(connection, delivery_id)
        if row["state"] == DeliveryState.SENT.value:
            raise DeliveryConflict(
                f"delivery {delivery_id} is already sent ({row['remote_url'] or row['remote_ids']})",
                hint="a second receipt means the post went out twice: check the account",
            )
        self._move(
            connection,
            row,
            DeliveryState.SENT,
            reason=f"sent: {where}",
            now=now,
            remote_ids=list(receipt.remote_ids),
            remote_url=receipt.url,
            receipt=dict(receipt.extra),
            claimed_by=None,
            lease_until=None,
            next_attempt_at=None,
        )
        return None

    @may_share_commit
    def mark_retry(self, delivery_id: str, *, at: datetime, reason: str, now: datetime) -> None:
        """``sending`` -> ``retrying``: claimable again at ``at`` (with the same idempotency key)."""
        self._settle(
            delivery_id,
            DeliveryState.RETRYING,
            reason=f"retry at {utc(at).isoformat()}: {reason}",
            error=reason,
            now=now,
            next_attempt_at=utc(at),
        )

    @may_share_commit
    def mark_failed(self, delivery_id: str, *, reason: str, now: datetime) -> None:
        """``sending`` -> ``failed``: permanent; only ``tagcast queue retry`` brings it back."""
        self._settle(delivery_id, DeliveryState.FAILED, reason=f"failed: {reason}", error=reason, now=now)

    @may_share_commit
    def mark_unknown(self, delivery_id: str, *, reason: str, now: datetime) -> None:
        """``sending`` -> ``unknown``: maybe posted; never resent until ``tagcast queue resolve``."""
        self._settle(
            delivery_id, DeliveryState.UNKNOWN, reason=f"outcome unknown: {reason}", error=reason, now=now
        )

    def _settle(
        self, delivery_id: str, state: DeliveryState, *, reason: str, error: str, now: datetime, **values: Any
    ) -> None:
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._require(row, _SENDING, f"mark as {state.value}", "only a claimed delivery can be settled")
            self._move(
                connection,
                row,
                state,
                reason=reason,
                now=now,
                last_error=error,
                claimed_by=None,
                lease_until=None,
                **values,
            )

    def stale_sending(self, now: datetime) -> list[Delivery]:
        """``sending`` deliveries whose lease ran out by ``now``: a worker died while sending them."""
        with self._read() as connection:
            rows = connection.execute(
                select(deliveries)
                .where(
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.lease_until.is_(None) | (deliveries.c.lease_until <= utc(now)),
                )
                .order_by(deliveries.c.scheduled_at, deliveries.c.id)
            ).mappings()
            return [delivery_from_row(row) for row in rows]

    @may_share_commit
    def claim_stale(self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10) -> list[Delivery]:
        """Take over ``sending`` deliveries whose lease ended by ``now`` (to reconcile them), atomically, so
        that only one worker reconciles each. Attempts are not counted again.

        In slot order, and never one behind a delivery of its channel that is still ``sending`` under a live
        lease (a channel's leftovers are reconciled in order)."""
        now = utc(now)
        lapsed = deliveries.c.lease_until.is_(None) | (deliveries.c.lease_until <= now)
        with self._read() as connection:  # the usual answer, without a write transaction and its disk flush
            sending = deliveries.c.state == DeliveryState.SENDING.value
            if connection.execute(select(deliveries.c.id).where(sending, lapsed).limit(1)).first() is None:
                return []
        taken: list[str] = []
        earlier = deliveries.alias("earlier")
        with self._write() as connection:
            query = (
                select(deliveries)
                .where(
                    deliveries.c.state == DeliveryState.SENDING.value,
                    lapsed,
                    ~exists().where(
                        earlier.c.channel == deliveries.c.channel,
                        earlier.c.state == DeliveryState.SENDING.value,
                        earlier.c.lease_until > now,
                        tuple_(earlier.c.scheduled_at, earlier.c.id)
                        < tuple_(deliveries.c.scheduled_at, deliveries.c.id),
                    ),
                )
                .order_by(deliveries.c.scheduled_at, deliveries.c.id)
                .limit(limit)
            )
            for row in connection.execute(select_for_claim(query, connection)).mappings().all():
                expired = row["lease_until"].isoformat() if row["lease_until"] else "never set"
                self._move(
                    connection,
                    row,
                    DeliveryState.SENDING,
                    reason=f"lease of {row['claimed_by'] or 'unknown worker'} expired ({expired}): "
                    f"taken over by {worker} to reconcile",
                    now=now,
                    claimed_by=worker,
                    lease_until=now + lease,
                )
                taken.append(row["id"])
            return [delivery_from_row(self._row(connection, row_id)) for row_id in taken]
