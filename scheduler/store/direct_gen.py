"""Writes :mod:`scheduler.store.direct_sql`: the SQL of the quick queue commands, compiled from the Store's
own SQLAlchemy statements and tables, so that the two never disagree::

    python -m scheduler.store.direct_gen > scheduler/store/direct_sql.py

``tests/store/test_direct_store.py`` fails when the file is not what this writes (a table, a column or a
query changed: run the command above), and checks that the Store executes the very same SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ClauseElement, Table, bindparam
from sqlalchemy.dialects import sqlite

from scheduler.store.base import INSERT_TRANSITION, ROW
from scheduler.store.migrations import latest_version
from scheduler.store.models import DeliveryState
from scheduler.store.moves import cancel_move, reschedule_move, retry_move, with_due_at
from scheduler.store.operator_ops import COUNTS, HISTORY, list_query
from scheduler.store.schema import UTCDateTime, deliveries, transitions
from scheduler.store.store import VERSION_QUERY

_DIALECT = sqlite.dialect(paramstyle="named")
_TRANSITION_KEYS = ["delivery_id", "at", "from_state", "to_state", "reason"]
_SAMPLE_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def _sql(statement: ClauseElement, **kwargs: Any) -> str:
    return str(statement.compile(dialect=_DIALECT, **kwargs))


def _renamed(sql: str, names: dict[str, str]) -> str:
    """``sql`` with its anonymous parameters (``:param_1``, ``__[POSTCOMPILE_state_1]``) given names."""
    for old, new in names.items():
        sql = re.sub(rf"(?<=:){re.escape(old)}\b", new, sql)
        sql = sql.replace(f"__[POSTCOMPILE_{old}]", f"__[POSTCOMPILE_{new}]")
    return sql


def _list(by_state: bool, by_channel: bool) -> str:
    roles = {"limit": 1001, "offset": 1002, "channel": "\x00channel", "states": ["\x00state"]}
    query = list_query(
        states=["planned"] if by_state else None,
        channel=str(roles["channel"]) if by_channel else None,
        limit=1001,
        offset=1002,
    )
    compiled = query.compile(dialect=_DIALECT)
    names: dict[str, str] = {}
    for name, value in compiled.params.items():
        if value == ["planned"]:
            names[name] = "states"
        else:
            names[name] = next(role for role, sample in roles.items() if sample == value)
    return _renamed(str(compiled), names)


def _move_columns() -> list[tuple[str, ...]]:
    """The column sets an operator's move writes (besides ``state`` and ``updated_at``)."""
    row = {
        "id": "d_sample",
        "state": DeliveryState.FAILED.value,
        "scheduled_at": _SAMPLE_TIME,
        "next_attempt_at": None,
        "attempts": 1,
        "last_error": None,
    }
    moves = [
        cancel_move(row),
        reschedule_move(row, _SAMPLE_TIME),
        retry_move(row, _SAMPLE_TIME),
    ]
    found = {tuple(sorted(with_due_at(row, move.to_state, move.values))) for move in moves}
    return sorted(found)


def _move(columns: tuple[str, ...]) -> str:
    statement = (
        deliveries.update()
        .where(deliveries.c.id == bindparam("row_id"), deliveries.c.state == bindparam("from_state"))
        .values(dict.fromkeys(("state", "updated_at", *columns)))
    )
    return _sql(statement)


def _columns(table: Table, kind: type) -> tuple[str, ...]:
    return tuple(column.name for column in table.columns if isinstance(column.type, kind))


def generate() -> str:
    """The text of :mod:`scheduler.store.direct_sql`."""
    lists = {(s, c): _list(s, c) for s in (False, True) for c in (False, True)}
    moves = {columns: _move(columns) for columns in _move_columns()}
    lines = [
        '"""The SQL of :class:`~scheduler.store.direct.DirectStore`, compiled for SQLite from the Store\'s',
        "SQLAlchemy statements by ``python -m scheduler.store.direct_gen > scheduler/store/direct_sql.py``:",
        'do not edit."""',
        "# ruff: noqa: E501",
        "# fmt: off",
        "",
        "from __future__ import annotations",
        "",
        f"SCHEMA_VERSION = {latest_version()}",
        f"VERSION = {_sql(VERSION_QUERY, compile_kwargs={'literal_binds': True})!r}",
        f"DELIVERY_TIMES = {_columns(deliveries, UTCDateTime)!r}",
        f"DELIVERY_JSON = {_columns(deliveries, JSON)!r}",
        f"TRANSITION_TIMES = {_columns(transitions, UTCDateTime)!r}",
        f"GET = {_sql(ROW)!r}",
        f"HISTORY = {_sql(HISTORY)!r}",
        f"COUNTS = {_sql(COUNTS)!r}",
        f"INSERT_TRANSITION = {_sql(INSERT_TRANSITION, column_keys=_TRANSITION_KEYS)!r}",
        "LIST = {",
        *(f"    {key!r}: {sql!r}," for key, sql in lists.items()),
        "}",
        '"""By (filtered by state, filtered by channel)."""',
        "MOVE = {",
        *(f"    {key!r}: {sql!r}," for key, sql in moves.items()),
        "}",
        '"""By the columns an operator\'s move sets, sorted."""',
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(generate(), end="")
