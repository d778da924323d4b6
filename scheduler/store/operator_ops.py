"""What the operator does from the CLI: look, cancel, reschedule, retry, resolve, pause and resume."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, bindparam, func, select

from scheduler.store.base import StoreBase, may_share_commit
from scheduler.store.dispatch_ops import active_pauses
from scheduler.store.models import ChannelPause, Delivery, DeliveryState, Transition, utc
from scheduler.store.moves import Move, cancel_move, now_or, reschedule_move, retry_move
from scheduler.store.rows import delivery_from_row, pause_from_row, transition_from_row
from scheduler.store.schema import channel_pauses, deliveries, transitions

_ERROR_STATES = (DeliveryState.RETRYING, DeliveryState.FAILED, DeliveryState.UNKNOWN)
_IDS_PER_QUERY = 500


HISTORY = (
    select(transitions)
    .where(transitions.c.delivery_id == bindparam("delivery_id"))
    .order_by(transitions.c.id)
)
"""Every transition of one delivery (``delivery_id``), oldest first."""
COUNTS = (
    select(deliveries.c.channel, deliveries.c.state, func.count())
    .group_by(deliveries.c.channel, deliveries.c.state)
    .order_by(deliveries.c.channel, deliveries.c.state)
)
"""How many deliveries each channel has in each state."""


def list_query(
    *,
    states: Iterable[DeliveryState | str] | None = None,
    channel: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Select[tuple[Any, ...]]:
    """The query behind :meth:`ListingMixin.list` (tests check its plan): an index gives the order."""
    query = select(deliveries)
    if states is not None:
        query = query.where(deliveries.c.state.in_([DeliveryState(s).value for s in states]))
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    return query.order_by(deliveries.c.scheduled_at, deliveries.c.id).limit(limit).offset(offset)


class ListingMixin(StoreBase):
    """Paged listing (its own class: a method named ``list`` would shadow the builtin in annotations)."""

    def list(
        self,
        *,
        states: Iterable[DeliveryState | str] | None = None,
        channel: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Delivery]:
        """One page of deliveries ordered by slot then id, filtered by state(s) and channel, via an index."""
        query = list_query(states=states, channel=channel, limit=limit, offset=offset)
        with self._read() as connection:
            return [delivery_from_row(row) for row in connection.execute(query).mappings()]


class OperatorMixin(StoreBase):
    """Look-ups and operator actions; each action is one transition with its reason kept."""

    def _apply(self, connection: Connection, row: RowMapping, move: Move, now: datetime) -> None:
        self._move(connection, row, move.to_state, reason=move.reason, now=now, **move.values)

    def get(self, delivery_id: str) -> Delivery:
        """The delivery ``delivery_id``; DeliveryNotFound (with a hint) when there is none."""
        with self._read() as connection:
            return delivery_from_row(self._row(connection, delivery_id))

    def get_many(self, delivery_ids: Iterable[str]) -> dict[str, Delivery]:
        """The deliveries of ``delivery_ids`` that exist, by id (a few queries for any number of ids)."""
        wanted = list(dict.fromkeys(delivery_ids))
        found: dict[str, Delivery] = {}
        with self._read() as connection:
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start : start + _IDS_PER_QUERY]
                rows = connection.execute(select(deliveries).where(deliveries.c.id.in_(chunk))).mappings()
                found.update((row["id"], delivery_from_row(row)) for row in rows)
        return found

    def history(self, delivery_id: str) -> list[Transition]:
        """Every transition of the delivery, oldest first."""
        with self._read() as connection:
            self._row(connection, delivery_id)
            rows = connection.execute(HISTORY, {"delivery_id": delivery_id}).mappings()
            return [transition_from_row(row) for row in rows]

    def cancel(self, delivery_id: str, *, now: datetime | None = None, reason: str | None = None) -> Delivery:
        """planned, retrying, failed or unknown -> cancelled: it will not be sent."""
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._apply(connection, row, cancel_move(row, reason=reason), now_or(now))
            return delivery_from_row(self._row(connection, delivery_id))

    def reschedule(
        self, delivery_id: str, at: datetime, *, now: datetime | None = None, reason: str | None = None
    ) -> Delivery:
        """planned, retrying, failed or cancelled -> planned at ``at`` (same id and idempotency key).

        A failed or cancelled delivery starts counting attempts from 0 again.
        """
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._apply(connection, row, reschedule_move(row, at, reason=reason), now_or(now))
            return delivery_from_row(self._row(connection, delivery_id))

    def retry(self, delivery_id: str, *, now: datetime | None = None, reason: str | None = None) -> Delivery:
        """failed or unknown -> planned now, attempts from 0, with the same idempotency key."""
        moment = now_or(now)
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._apply(connection, row, retry_move(row, moment, reason=reason), moment)
            return delivery_from_row(self._row(connection, delivery_id))

    def resolve(
        self,
        delivery_id: str,
        sent_url: str | None,
        *,
        now: datetime | None = None,
        reason: str | None = None,
    ) -> Delivery:
        """The operator settles an unknown (or stuck sending) delivery: ``sent_url`` -> sent with that URL;
        None -> planned again now (it was not posted)."""
        moment = now_or(now)
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._require(
                row,
                (DeliveryState.UNKNOWN, DeliveryState.SENDING),
                "resolve",
                "only unknown or sending deliveries need resolving",
            )
            common = {"claimed_by": None, "lease_until": None, "next_attempt_at": None}
            if sent_url is not None:
                self._move(
                    connection,
                    row,
                    DeliveryState.SENT,
                    reason=reason or f"resolved by the operator: it was sent ({sent_url})",
                    now=moment,
                    remote_url=sent_url,
                    **common,
                )
            else:
                self._move(
                    connection,
                    row,
                    DeliveryState.PLANNED,
                    reason=reason or "resolved by the operator: it was not sent; planned again now",
                    now=moment,
                    scheduled_at=moment,
                    attempts=0,
                    **common,
                )
            return delivery_from_row(self._row(connection, delivery_id))

    @may_share_commit
    def pause_channel(
        self, channel: str, *, until: datetime | None, reason: str, now: datetime | None = None
    ) -> None:
        """Stop claims for ``channel`` until ``until`` (None: until :meth:`resume_channel`)."""
        with self._write() as connection:
            connection.execute(channel_pauses.delete().where(channel_pauses.c.channel == channel))
            connection.execute(
                channel_pauses.insert().values(
                    channel=channel,
                    until=utc(until) if until is not None else None,
                    reason=reason or "paused by the operator",
                    created_at=now_or(now),
                )
            )

    def resume_channel(self, channel: str) -> bool:
        """Let ``channel`` post again; False when it was not paused."""
        with self._write() as connection:
            deleted = connection.execute(channel_pauses.delete().where(channel_pauses.c.channel == channel))
            return deleted.rowcount > 0

    def paused(self, now: datetime | None = None) -> dict[str, ChannelPause]:
        """Channels paused at ``now`` (default: the current time), with why and until when."""
        with self._read() as connection:
            active = active_pauses(connection, now_or(now))
            rows = connection.execute(
                select(channel_pauses).where(channel_pauses.c.channel.in_(builtins.list(active)))
            ).mappings()
            return {row["channel"]: pause_from_row(row) for row in rows}

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> number of deliveries."""
        out: dict[str, dict[str, int]] = {}
        with self._read() as connection:
            rows = connection.execute(COUNTS).all()
        for channel, state, number in rows:
            out.setdefault(channel, {})[state] = int(number)
        return out

    def next_due_by_channel(self) -> dict[str, datetime]:
        """channel -> when its first planned or retrying delivery is due (paused or not)."""
        with self._read() as connection:
            rows = connection.execute(
                select(deliveries.c.channel, func.min(deliveries.c.due_at))
                .where(deliveries.c.due_at.is_not(None))
                .group_by(deliveries.c.channel)
            ).all()
        return dict(rows)

    def recent_errors(self, limit: int = 10) -> list[tuple[Delivery, str]]:
        """The last ``limit`` error transitions (retrying, failed, unknown), newest first, with reasons."""
        with self._read() as connection:
            rows = connection.execute(
                select(transitions.c.delivery_id, transitions.c.reason)
                .where(transitions.c.to_state.in_([s.value for s in _ERROR_STATES]))
                .order_by(transitions.c.at.desc(), transitions.c.id.desc())
                .limit(limit)
            ).all()
            return [(delivery_from_row(self._row(connection, row_id)), reason) for row_id, reason in rows]

    def sent_since(self, since: datetime, limit: int = 500) -> list[Delivery]:
        """Deliveries that went out at or after ``since``, in the order they did, at most ``limit`` (for the
        daily digest; an index on transitions finds them)."""
        with self._read() as connection:
            ids = (
                connection.execute(
                    select(transitions.c.delivery_id)
                    .where(transitions.c.to_state == DeliveryState.SENT.value, transitions.c.at >= utc(since))
                    .order_by(transitions.c.at, transitions.c.id)
                    .limit(limit)
                )
                .scalars()
                .all()
            )
            rows = connection.execute(select(deliveries).where(deliveries.c.id.in_(ids))).mappings()
            found = {row["id"]: delivery_from_row(row) for row in rows}
        ordered = [found[i] for i in dict.fromkeys(ids) if i in found]
        return [d for d in ordered if d.state is DeliveryState.SENT]
