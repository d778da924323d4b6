"""What the misfire policy needs at start after downtime: the late planned deliveries a page at a time, and
many reschedules in ONE transaction (one commit, so one disk flush, per page rather than per post).

Each reschedule still refuses a delivery that changed since it was read (cancelled, claimed, edited,
rescheduled by the operator): the same :class:`~scheduler.store.errors.DeliveryConflict` as
:meth:`~scheduler.store.operator_ops.OperatorMixin.reschedule`, returned for that row instead of raised, and
the others go ahead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, tuple_

from scheduler.store.base import INSERT_TRANSITION, StoreBase
from scheduler.store.dialect import locks_rows
from scheduler.store.errors import DeliveryConflict
from scheduler.store.models import Delivery, DeliveryState, utc
from scheduler.store.moves import SHOW_HINT, changed_meanwhile, require_state
from scheduler.store.rows import delivery_from_row
from scheduler.store.schema import deliveries

_PLANNED = DeliveryState.PLANNED.value
_IDS_PER_QUERY = 500

RESLOT = (
    deliveries.update()
    .where(
        deliveries.c.id == bindparam("row_id"),
        deliveries.c.state == _PLANNED,
        deliveries.c.updated_at == bindparam("seen"),
    )
    .values(
        scheduled_at=bindparam("at"),
        due_at=bindparam("at"),
        next_attempt_at=None,
        updated_at=bindparam("now"),
    )
)
"""One planned delivery (``row_id``) to ``at``, if it is still planned and unchanged since ``seen``."""


@dataclass(frozen=True)
class Reslot:
    """Move the planned delivery ``delivery_id`` to ``at``, keeping ``reason`` in its history, unless it
    changed since it was read as ``seen`` (its ``updated_at`` then: every change of a delivery sets it)."""

    delivery_id: str
    at: datetime
    reason: str
    seen: datetime

    @classmethod
    def of(cls, delivery: Delivery, at: datetime, reason: str) -> Reslot:
        """Move ``delivery`` (as read) to ``at`` with ``reason``."""
        return cls(delivery.id, at, reason, delivery.updated_at)


class MisfireMixin(StoreBase):
    """The late planned deliveries, and :meth:`reschedule_many`."""

    def late_planned(
        self, before: datetime, *, after: tuple[datetime, str] | None = None, limit: int = 200
    ) -> list[Delivery]:
        """Up to ``limit`` planned deliveries whose slot is before ``before``, in slot order (then id), those
        after the (slot, id) ``after`` (the last of the previous page): each late delivery is read once, by
        an index, however many pages are moved meanwhile."""
        query = select(deliveries).where(
            deliveries.c.state == _PLANNED, deliveries.c.scheduled_at < utc(before)
        )
        if after is not None:
            last = (utc(after[0]), after[1])
            query = query.where(tuple_(deliveries.c.scheduled_at, deliveries.c.id) > last)
        query = query.order_by(deliveries.c.scheduled_at, deliveries.c.id).limit(limit)
        with self._read() as connection:
            return [delivery_from_row(row) for row in connection.execute(query).mappings()]

    def reschedule_many(self, rows: Sequence[Reslot], *, now: datetime) -> dict[str, DeliveryConflict]:
        """planned -> planned at each row's ``at``, its ``reason`` in the history: all in ONE transaction.

        A delivery that is no longer planned, or changed since it was read (:class:`Reslot`), or is gone,
        is left as it is; the answer maps its id to the :class:`DeliveryConflict` saying why. Every other row
        was moved.
        """
        now = utc(now)
        if any(not row.reason for row in rows):
            raise ValueError("every transition needs a reason")
        refused: dict[str, DeliveryConflict] = {}
        with self._write() as connection:
            current: dict[str, Any] = {}
            ids = [row.delivery_id for row in rows]
            for start in range(0, len(ids), _IDS_PER_QUERY):
                query = select(deliveries.c.id, deliveries.c.state, deliveries.c.updated_at).where(
                    deliveries.c.id.in_(ids[start : start + _IDS_PER_QUERY])
                )
                if locks_rows(connection):  # PostgreSQL: what is read here stays so until the commit
                    query = query.with_for_update()
                current.update((found.id, found) for found in connection.execute(query).mappings())
            moves: list[dict[str, Any]] = []
            history: list[dict[str, Any]] = []
            for row in rows:
                found = current.get(row.delivery_id)
                try:
                    if found is None:
                        gone = f"delivery {row.delivery_id} is gone"
                        raise DeliveryConflict(gone, hint="`tagcast queue list` shows what is queued")
                    hint = SHOW_HINT.format(id=row.delivery_id)
                    require_state(found, (DeliveryState.PLANNED,), "reschedule", hint)
                    if utc(found["updated_at"]) != utc(row.seen):
                        raise changed_meanwhile(row.delivery_id, DeliveryState.PLANNED, DeliveryState.PLANNED)
                except DeliveryConflict as exc:
                    refused[row.delivery_id] = exc
                    continue
                at = utc(row.at)
                moves.append({"row_id": row.delivery_id, "seen": found["updated_at"], "at": at, "now": now})
                history.append(
                    {
                        "delivery_id": row.delivery_id,
                        "at": now,
                        "from_state": _PLANNED,
                        "to_state": _PLANNED,
                        "reason": row.reason,
                    }
                )
            if moves:
                updated = connection.execute(RESLOT, moves)
                if updated.rowcount != len(moves):  # the rows were locked (or the database was) since read
                    raise DeliveryConflict(
                        f"{len(moves) - updated.rowcount} of {len(moves)} deliveries changed while they "
                        "were being rescheduled: none was",
                        hint="start again: each is read anew",
                    )
                connection.execute(INSERT_TRANSITION, history)
        return refused
