"""The statements run for every post, compiled once per database and run on its driver's cursor.

SQLAlchemy's ``Connection.execute`` costs 20-40 µs of Python for each statement (its execution context,
events and result objects), several times what SQLite itself takes for the small statements of a claim or a
receipt. In ``tagcast serve`` that Python runs on the store thread and holds the interpreter lock, which the
event loop that talks to the networks needs at the same time. So the statements of the dispatch hot path
(:mod:`scheduler.store.dispatch_sql`) are compiled by SQLAlchemy, once for the connection's dialect, and run
on a cursor of the same connection, inside the same SQLAlchemy transaction::

    HEAD = Prepared(select(deliveries).where(...))
    rows = HEAD.mappings(connection, channel="h1", now=now)

What stays SQLAlchemy's: the SQL text and its paramstyle, the conversion of each value (the bind and result
processors of the columns' types, such as :class:`~scheduler.store.schema.UTCDateTime` and JSON), the
connection pool, the transaction, and the exception a driver error becomes. What is skipped: the
``before/after_cursor_execute`` events (tagcast listens to neither) and SQLAlchemy's statement logging.
``tests/store/test_prepared.py`` runs every hot statement both ways, on SQLite and PostgreSQL, and compares
what they return and write. A statement with an expanding ``IN`` cannot be prepared (its SQL depends on the
length of the list).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    """One statement compiled for one dialect."""

    sql: str
    names: tuple[str, ...]
    """The parameters in the order the SQL text uses them (a name may repeat)."""
    positional: bool
    defaults: dict[str, Any]
    """The values bound in the statement itself (``state = 'sending'``), by parameter name."""
    binds: Mapping[str, Processor]
    columns: tuple[str, ...]
    """The names of the result columns (none for an UPDATE or INSERT)."""
    results: tuple[Processor, ...]

    @cached_property
    def _plan(self) -> tuple[tuple[str, Processor], ...]:
        """Each parameter once, with its bind processor."""
        return tuple((name, self.binds[name]) for name in dict.fromkeys(self.names))

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        defaults = self.defaults
        processed = {}
        for name, process in self._plan:
            value = values[name] if name in values else defaults[name]
            processed[name] = value if process is None else process(value)
        if self.positional:
            return tuple([processed[name] for name in self.names])
        return processed

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        """A result row as a dict of converted values."""
        return {
            name: (process(value) if process is not None else value)
            for name, process, value in zip(self.columns, self.results, values, strict=True)
        }


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if not isinstance(compiled, SQLCompiler):  # pragma: no cover - every DML and SELECT compiles to one
        raise TypeError(f"cannot prepare {statement!r}")
    if any(bind.expanding for bind in compiled.binds.values()):
        raise ValueError("a statement with an expanding IN cannot be prepared (its SQL depends on the list)")
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.bind_names.values())
    binds = {
        name: bind.type.dialect_impl(dialect).bind_processor(dialect)
        for bind, name in compiled.bind_names.items()
    }
    defaults = {
        name: bind.effective_value
        for bind, name in compiled.bind_names.items()
        if not bind.required and bind.callable is None
    }
    columns: tuple[str, ...] = ()
    results: tuple[Processor, ...] = ()
    # a SELECT's columns, or what an UPDATE ... RETURNING returns
    selected = getattr(statement, "selected_columns", None) or getattr(statement, "exported_columns", None)
    if selected:
        columns = tuple(column.key for column in selected)
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in selected
        )
    return _Compiled(compiled.string, names, compiled.positional, defaults, binds, columns, results)


@contextmanager
def driver_cursor(connection: Connection, sql: str, parameters: Any = ()) -> Iterator[Any]:
    """``sql`` executed on a cursor of the connection's driver, closed after the block. A driver error is
    raised as SQLAlchemy raises it (``OperationalError``, ``IntegrityError``...), and a lost connection is
    invalidated, as ``Connection.execute`` would do."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        yield cursor
    except connection.dialect.loaded_dbapi.Error as exc:
        if connection.dialect.is_disconnect(exc, connection.connection, cursor):
            connection.invalidate(exc)
        error = connection.dialect.loaded_dbapi.Error
        raise DBAPIError.instance(sql, parameters, exc, error, dialect=connection.dialect) from exc
    finally:
        cursor.close()


class Prepared:
    """A statement of the hot path: compiled once per dialect, run on the connection's driver."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _for(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return compiled

    @contextmanager
    def _cursor(self, connection: Connection, values: Mapping[str, Any]) -> Iterator[tuple[_Compiled, Any]]:
        """The statement executed on a cursor of the connection's driver (:func:`driver_cursor`)."""
        compiled = self._for(connection)
        with driver_cursor(connection, compiled.sql, compiled.parameters(values)) as cursor:
            yield compiled, cursor

    def run(self, connection: Connection, **values: Any) -> int:
        """Run an UPDATE or INSERT; the number of rows it changed."""
        with self._cursor(connection, values) as (_, cursor):
            return int(cursor.rowcount)

    def mappings(self, connection: Connection, **values: Any) -> list[dict[str, Any]]:
        """Run a SELECT; its rows as dicts of converted values (what ``.mappings().all()`` gives)."""
        with self._cursor(connection, values) as (compiled, cursor):
            rows = cursor.fetchall()
        return [compiled.row(row) for row in rows]

    def first(self, connection: Connection, **values: Any) -> dict[str, Any] | None:
        """Run a SELECT; its first row as a dict of converted values, or None (the rest is never fetched)."""
        with self._cursor(connection, values) as (compiled, cursor):
            row = cursor.fetchone()
        return compiled.row(row) if row is not None else None

    @contextmanager
    def scalars(self, connection: Connection, **values: Any) -> Iterator[Iterator[Any]]:
        """Run a SELECT; the values of its first column, read as they are iterated (stop early: the rest is
        never fetched)."""
        with self._cursor(connection, values) as (compiled, cursor):
            process = compiled.results[0]
            yield (process(row[0]) if process is not None else row[0] for row in iter(cursor.fetchone, None))
