"""The SQLite outbox through the ``sqlite3`` module alone, for the quick queue commands.

``tagcast queue list`` once spent most of its CPU importing SQLAlchemy. :class:`DirectStore` answers what
the queue commands ask (a page, one delivery and its history, the counts; cancel, reschedule, retry) with
the SQL the :class:`~scheduler.store.Store` runs, compiled from its SQLAlchemy statements into
:mod:`scheduler.store.direct_sql` (``tests/store/test_direct_store.py`` keeps the two the same), and decides
each action with the Store's own functions (:mod:`scheduler.store.moves`)::

    store = DirectStore.open(Path("/srv/ws/var/tagcast.db"), root=Path("/srv/ws"))
    if store is None:  # no file yet, or its schema needs the Store (a migration, a newer tagcast)
        ...
    with store:
        page = store.list(states=["planned"], limit=50)

Times and JSON are read and written the way the Store's column types do (:class:`UTCDateTime` on SQLite: a
``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text; an unreadable one is :data:`~scheduler.store.models.LONG_PAST`).
"""

from __future__ import annotations

import builtins
import json
import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from scheduler.store import direct_sql
from scheduler.store.errors import DeliveryNotFound
from scheduler.store.models import LONG_PAST, Delivery, DeliveryState, Transition, utc
from scheduler.store.moves import (
    Move,
    Row,
    cancel_move,
    changed_meanwhile,
    now_or,
    reschedule_move,
    retry_move,
    with_due_at,
)
from scheduler.store.rows import delivery_from_row, transition_from_row
from scheduler.store.sqlite_file import BUSY_TIMEOUT_MS, configure_connection, make_private

_DELIVERY_TIMES = frozenset(direct_sql.DELIVERY_TIMES)
_DELIVERY_JSON = frozenset(direct_sql.DELIVERY_JSON)
_TRANSITION_TIMES = frozenset(direct_sql.TRANSITION_TIMES)
_EXPANDING = re.compile(r"__\[POSTCOMPILE_(\w+)\]")


def stored_time(value: Any) -> datetime | None:
    """A time as the Store reads it from SQLite: aware UTC; unreadable: :data:`LONG_PAST` (logged)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (ValueError, TypeError):
        import logging  # noqa: PLC0415  (only then: the quick queue commands do without it)

        logging.getLogger("tagcast.store").warning(
            "a stored time %r cannot be read: it is taken as long past (%s)", value, LONG_PAST
        )
        return LONG_PAST
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def time_text(value: datetime) -> str:
    """A time as the Store writes it to SQLite (UTC, fixed width, so that text order is time order)."""
    value = utc(value)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}"
    )


def _bound(value: Any) -> Any:
    return time_text(value) if isinstance(value, datetime) else value


def _expanded(sql: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``sql`` with each ``IN (__[POSTCOMPILE_name])`` given one parameter per value of ``params[name]``."""
    flat = {name: _bound(value) for name, value in params.items()}

    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        values = list(flat.pop(name))
        flat.update({f"{name}_{index}": value for index, value in enumerate(values)})
        return ", ".join(f":{name}_{index}" for index in range(len(values)))

    return _EXPANDING.sub(expand, sql), flat


class DirectStore:
    """The queue commands' part of :class:`~scheduler.store.Store`, on one sqlite3 connection (see the
    module docstring). Each method is its own transaction, as in the Store."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    @classmethod
    def open(cls, database: Path, *, root: Path) -> DirectStore | None:
        """Open the outbox file ``database`` (of the workspace ``root``) as the Store would; None when the
        file does not exist or its schema is not this tagcast's newest (the Store creates or migrates it,
        or says why it cannot)."""
        if not database.is_file():
            return None
        make_private(database, root)
        connection = sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            configure_connection(connection)
            with _Transaction(connection, write=False):
                found = connection.execute(direct_sql.VERSION).fetchone()
        except sqlite3.Error:
            connection.close()
            return None
        if found is None or found[0] != direct_sql.SCHEMA_VERSION:
            connection.close()
            return None
        return cls(connection)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> DirectStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _rows(self, sql: str, params: Mapping[str, Any], times: frozenset[str]) -> list[dict[str, Any]]:
        text, bound = _expanded(sql, params)
        cursor = self.connection.execute(text, bound)
        names = [column[0] for column in cursor.description]
        rows = []
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            for name in times.intersection(row):
                row[name] = stored_time(row[name])
            for name in _DELIVERY_JSON.intersection(row) if times is _DELIVERY_TIMES else ():
                row[name] = json.loads(row[name]) if row[name] is not None else None
            rows.append(row)
        return rows

    def _row(self, delivery_id: str) -> dict[str, Any]:
        found = self._rows(direct_sql.GET, {"delivery_id": delivery_id}, _DELIVERY_TIMES)
        if not found:
            raise DeliveryNotFound(delivery_id)
        return found[0]

    def get(self, delivery_id: str) -> Delivery:
        """The delivery ``delivery_id``; DeliveryNotFound (with a hint) when there is none."""
        with _Transaction(self.connection, write=False):
            return delivery_from_row(self._row(delivery_id))

    def list(
        self,
        *,
        states: Iterable[DeliveryState | str] | None = None,
        channel: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> builtins.list[Delivery]:
        """One page of deliveries ordered by slot then id, filtered by state(s) and channel."""
        wanted = None if states is None else [DeliveryState(s).value for s in states]
        if wanted == []:
            return []
        sql = direct_sql.LIST[wanted is not None, channel is not None]
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if wanted is not None:
            params["states"] = wanted
        if channel is not None:
            params["channel"] = channel
        with _Transaction(self.connection, write=False):
            return [delivery_from_row(row) for row in self._rows(sql, params, _DELIVERY_TIMES)]

    def history(self, delivery_id: str) -> builtins.list[Transition]:
        """Every transition of the delivery, oldest first."""
        with _Transaction(self.connection, write=False):
            self._row(delivery_id)
            rows = self._rows(direct_sql.HISTORY, {"delivery_id": delivery_id}, _TRANSITION_TIMES)
            return [transition_from_row(row) for row in rows]

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> number of deliveries."""
        out: dict[str, dict[str, int]] = {}
        with _Transaction(self.connection, write=False):
            rows = self.connection.execute(direct_sql.COUNTS).fetchall()
        for channel, state, number in rows:
            out.setdefault(channel, {})[state] = int(number)
        return out

    def _apply(self, row: Row, move: Move, now: datetime) -> Delivery:
        from_state = DeliveryState(row["state"])
        values = with_due_at(row, move.to_state, move.values)
        sql = direct_sql.MOVE[tuple(sorted(values))]
        params = {
            **values,
            "state": move.to_state.value,
            "updated_at": now,
            "row_id": row["id"],
            "from_state": from_state.value,
        }
        if self.connection.execute(*_expanded(sql, params)).rowcount != 1:
            raise changed_meanwhile(row["id"], from_state, move.to_state)
        if not move.reason:
            raise ValueError("every transition needs a reason")
        transition = {
            "delivery_id": row["id"],
            "at": now,
            "from_state": from_state.value,
            "to_state": move.to_state.value,
            "reason": move.reason,
        }
        self.connection.execute(*_expanded(direct_sql.INSERT_TRANSITION, transition))
        return delivery_from_row(self._row(row["id"]))

    def cancel(self, delivery_id: str, *, now: datetime | None = None, reason: str | None = None) -> Delivery:
        """planned, retrying, failed or unknown -> cancelled: it will not be sent."""
        with _Transaction(self.connection, write=True):
            row = self._row(delivery_id)
            return self._apply(row, cancel_move(row, reason=reason), now_or(now))

    def reschedule(
        self, delivery_id: str, at: datetime, *, now: datetime | None = None, reason: str | None = None
    ) -> Delivery:
        """planned, retrying, failed or cancelled -> planned at ``at`` (same id and idempotency key)."""
        with _Transaction(self.connection, write=True):
            row = self._row(delivery_id)
            return self._apply(row, reschedule_move(row, at, reason=reason), now_or(now))

    def retry(self, delivery_id: str, *, now: datetime | None = None, reason: str | None = None) -> Delivery:
        """failed or unknown -> planned now, attempts from 0, with the same idempotency key."""
        moment = now_or(now)
        with _Transaction(self.connection, write=True):
            row = self._row(delivery_id)
            return self._apply(row, retry_move(row, moment, reason=reason), moment)


class _Transaction:
    """``BEGIN`` (reads) or ``BEGIN IMMEDIATE`` (writes, as the Store's writer); commit on success."""

    def __init__(self, connection: sqlite3.Connection, *, write: bool) -> None:
        self.connection = connection
        self.write = write

    def __enter__(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.connection.execute("COMMIT" if exc_type is None else "ROLLBACK")
