"""What every part of the Store shares: the engine, read and write transactions, one way to change state.

Every state change goes through :meth:`StoreBase._move`: a compare-and-set ``UPDATE`` (the row must still
be in the state it was read in) plus a row in ``transitions`` with the reason, in the same transaction.

The statements of the dispatch hot path are built once, at import (building a SQLAlchemy statement costs
several times more than running it); their values are bound parameters.

The methods marked :func:`may_share_commit` may run together in one transaction
(:meth:`StoreBase.one_transaction`): the service's store thread runs the calls that wait for it that way,
one commit for all of them (:mod:`scheduler.service.storecalls`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, RowMapping, bindparam, select

from scheduler.store.dialect import pins_connections, relaxed, transaction_options, writer
from scheduler.store.dispatch_sql import TRANSITION, history_insert
from scheduler.store.errors import DeliveryNotFound
from scheduler.store.models import DeliveryState, utc
from scheduler.store.moves import changed_meanwhile, require_state, with_due_at
from scheduler.store.schema import deliveries, transitions

F = TypeVar("F", bound=Callable[..., Any])

ROW = select(deliveries).where(deliveries.c.id == bindparam("delivery_id"))
"""One delivery by id (``delivery_id``)."""
INSERT_TRANSITION = transitions.insert()
HISTORY_ROWS_MAX = 64
"""At most this many history rows in one statement (one statement is built for each count up to it)."""
PENDING_HISTORY = "tagcast.pending_history"
"""The key, in the connection's ``info``, of the history rows :meth:`StoreBase.one_transaction` writes at its
end (a list while it is open)."""


def may_share_commit(method: F) -> F:
    """Mark a Store method whose transaction may be shared with other calls
    (:meth:`StoreBase.one_transaction`): it only reads and writes the outbox, in one short transaction, and it
    can simply run again when a shared transaction is rolled back."""
    method.may_share_commit = True  # type: ignore[attr-defined]
    return method


class HistoryRow(NamedTuple):
    """One row of a delivery's history (``transitions``), before it is written."""

    delivery_id: str
    at: datetime
    from_state: DeliveryState | None
    to_state: DeliveryState
    reason: str

    def values(self, suffix: str = "") -> dict[str, Any]:
        """The parameters of :data:`~scheduler.store.dispatch_sql.TRANSITION` (each name + ``suffix``)."""
        if not self.reason:
            raise ValueError("every transition needs a reason")
        return {
            f"delivery_id{suffix}": self.delivery_id,
            f"at{suffix}": utc(self.at),
            f"from_state{suffix}": self.from_state.value if self.from_state is not None else None,
            f"to_state{suffix}": self.to_state.value,
            f"reason{suffix}": self.reason,
        }


class _Pin:
    """The connection one thread keeps for its transactions (:meth:`StoreBase.pinned`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None
        self.options: dict[str, bool] = {}

    @contextmanager
    def begin(self, *, write: bool, durable: bool = True) -> Iterator[Connection]:
        """A transaction on the kept connection (opened first if need be): a write is committed when the
        block ends, a read rolled back, as on a connection from the pool; both are rolled back when it
        raises."""
        if self.connection is None or self.connection.closed:
            self.connection = self.engine.connect()
            self.options = {}
        options = transaction_options(write=write, durable=durable)
        if options != self.options:  # setting them runs SQLAlchemy's option events: only on a change
            self.connection.execution_options(**options)
            self.options = options
        if write:
            with self.connection.begin():  # committed, or rolled back when the block (or the commit) fails
                yield self.connection
            return
        transaction = self.connection.begin()
        try:
            yield self.connection
        finally:
            transaction.rollback()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


class StoreBase:
    """The engine and the transaction helpers; the public methods live in the mixins of :class:`Store`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)
        self._relaxed = relaxed(engine)
        self._shared = threading.local()
        """``connection``: this thread's transaction of :meth:`one_transaction`, while one is open;
        ``pin``: the connection this thread keeps (:meth:`pinned`), while it keeps one."""

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Keep one connection for this thread's transactions while the block runs, instead of taking one
        from the pool for each (on SQLite only: :func:`~scheduler.store.dialect.pins_connections`). For a
        thread that makes a transaction for every post, the service's store thread: taking a connection
        from the pool and giving it back cost it more than the statements of a receipt. The connection is
        opened by the first transaction (an error reaches the call that made it) and closed when the block
        ends."""
        if not pins_connections(self.engine) or getattr(self._shared, "pin", None) is not None:
            yield
            return
        pin = self._shared.pin = _Pin(self.engine)
        try:
            yield
        finally:
            self._shared.pin = None
            pin.close()

    @contextmanager
    def _begin(self, *, write: bool, durable: bool = True) -> Iterator[Connection]:
        """A transaction, committed when the block ends and rolled back when it raises: on the connection
        this thread keeps (:meth:`pinned`), else on one from the pool."""
        pin: _Pin | None = getattr(self._shared, "pin", None)
        if pin is not None:
            with pin.begin(write=write, durable=durable) as connection:
                yield connection
            return
        engine = (self._writer if durable else self._relaxed) if write else self.engine
        with engine.begin() as connection:
            yield connection

    @contextmanager
    def one_transaction(self) -> Iterator[None]:
        """Run the Store calls this thread makes in the block in one write transaction, committed (on disk)
        when the block ends and rolled back whole when it raises. Each call sees what the calls before it
        wrote, but for its history: the rows of ``transitions`` that the calls make are written together at
        the end, in order, in one statement. Only for the methods marked :func:`may_share_commit`, which
        never read the history; other threads are not affected."""
        if getattr(self._shared, "connection", None) is not None:
            raise RuntimeError("one_transaction is already open on this thread")
        with self._begin(write=True) as connection:
            pending: list[HistoryRow] = []
            connection.info[PENDING_HISTORY] = pending
            self._shared.connection = connection
            try:
                yield
                del connection.info[PENDING_HISTORY]
                self._write_history(connection, *pending)
            finally:
                connection.info.pop(PENDING_HISTORY, None)
                self._shared.connection = None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A connection for reads (inside :meth:`one_transaction`: its connection)."""
        shared: Connection | None = getattr(self._shared, "connection", None)
        if shared is not None:
            yield shared
            return
        if getattr(self._shared, "pin", None) is not None:
            with self._begin(write=False) as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success. ``durable=False``: a
        commit that a power cut may lose (:func:`~scheduler.store.dialect.relaxed`). Inside
        :meth:`one_transaction`: its transaction, committed (durably) when it ends."""
        shared: Connection | None = getattr(self._shared, "connection", None)
        if shared is not None:
            yield shared
            return
        with self._begin(write=True, durable=durable) as connection:
            yield connection

    @staticmethod
    def _row(connection: Connection, delivery_id: str) -> RowMapping:
        row = connection.execute(ROW, {"delivery_id": delivery_id}).mappings().first()
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
        StoreBase._write_history(connection, HistoryRow(delivery_id, at, from_state, to_state, reason))

    @staticmethod
    def _write_history(connection: Connection, *rows: HistoryRow) -> None:
        """Write ``rows`` to the history in this transaction, in order, in one statement (a receipt and the
        claim of its commit: one statement less for every post); inside :meth:`one_transaction`, at its
        end, with the rows of every call."""
        pending: list[HistoryRow] | None = connection.info.get(PENDING_HISTORY)
        if pending is not None:
            pending.extend(rows)
            return
        if len(rows) == 1:
            TRANSITION.run(connection, **rows[0].values())
            return
        for start in range(0, len(rows), HISTORY_ROWS_MAX):
            chunk = rows[start : start + HISTORY_ROWS_MAX]
            values: dict[str, Any] = {}
            for n, row in enumerate(chunk, 1):
                values.update(row.values(f"_{n}"))
            history_insert(len(chunk)).run(connection, **values)

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
        updated = connection.execute(
            deliveries.update()
            .where(deliveries.c.id == row["id"], deliveries.c.state == from_state.value)
            .values(state=to_state.value, updated_at=utc(now), **with_due_at(row, to_state, values))
        )
        if updated.rowcount != 1:
            raise changed_meanwhile(row["id"], from_state, to_state)
        self._record(connection, row["id"], at=now, from_state=from_state, to_state=to_state, reason=reason)

    @staticmethod
    def _require(
        row: RowMapping, allowed: tuple[DeliveryState, ...], action: str, hint: str
    ) -> DeliveryState:
        return require_state(row, allowed, action, hint)
