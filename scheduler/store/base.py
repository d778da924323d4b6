"""What every part of the Store shares: the engine, read and write transactions, one way to change state.

Every state change goes through :meth:`StoreBase._move`: a compare-and-set ``UPDATE`` (the row must still
be in the state it was read in) plus a row in ``transitions`` with the reason, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, select

from scheduler.store.dialect import writer
from scheduler.store.errors import DeliveryConflict, DeliveryNotFound
from scheduler.store.models import DeliveryState, utc
from scheduler.store.schema import deliveries, transitions


def due_at_for(
    state: DeliveryState, scheduled_at: datetime, next_attempt_at: datetime | None
) -> datetime | None:
    """When a row in ``state`` becomes claimable: planned at its slot, retrying at its next attempt."""
    if state is DeliveryState.PLANNED:
        return scheduled_at
    if state is DeliveryState.RETRYING:
        return next_attempt_at or scheduled_at
    return None


class StoreBase:
    """The engine and the transaction helpers; the public methods live in the mixins of :class:`Store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        with self._writer.begin() as connection:
            yield connection

    @staticmethod
    def _row(connection: Connection, delivery_id: str) -> RowMapping:
        row = connection.execute(select(deliveries).where(deliveries.c.id == delivery_id)).mappings().first()
        if row is None:
            raise DeliveryNotFound(delivery_id)
        return row

    @staticmethod
    def _record(
        connection: Connection,
        delivery_id: str,
        *,
        at: datetime,
        from_state: DeliveryState | None,
        to_state: DeliveryState,
        reason: str,
    ) -> None:
        if not reason:
            raise ValueError("every transition needs a reason")
        connection.execute(
            transitions.insert().values(
                delivery_id=delivery_id,
                at=utc(at),
                from_state=from_state.value if from_state is not None else None,
                to_state=to_state.value,
                reason=reason,
            )
        )

    def _move(
        self,
        connection: Connection,
        row: RowMapping,
        to_state: DeliveryState,
        *,
        reason: str,
        now: datetime,
        **values: Any,
    ) -> None:
        """Move ``row`` (as read in this transaction) to ``to_state`` with ``values``; record it."""
        from_state = DeliveryState(row["state"])
        scheduled_at = values.get("scheduled_at", row["scheduled_at"])
        next_attempt_at = values.get("next_attempt_at", row["next_attempt_at"])
        values["due_at"] = due_at_for(to_state, scheduled_at, next_attempt_at)
        updated = connection.execute(
            deliveries.update()
            .where(deliveries.c.id == row["id"], deliveries.c.state == from_state.value)
            .values(state=to_state.value, updated_at=utc(now), **values)
        )
        if updated.rowcount != 1:
            raise DeliveryConflict(
                f"delivery {row['id']} changed while it was being moved from {from_state} to {to_state}",
                hint=f"look at it again with `tagcast queue show {row['id']}`",
            )
        self._record(connection, row["id"], at=now, from_state=from_state, to_state=to_state, reason=reason)

    @staticmethod
    def _require(
        row: RowMapping, allowed: tuple[DeliveryState, ...], action: str, hint: str
    ) -> DeliveryState:
        state = DeliveryState(row["state"])
        if state not in allowed:
            names = ", ".join(s.value for s in allowed)
            raise DeliveryConflict(
                f"cannot {action} delivery {row['id']}: it is {state.value} (only {names} can be)",
                hint=hint,
            )
        return state
