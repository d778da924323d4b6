"""What a Store does on its connections, seen from SQLAlchemy's pool events: the statements SQLite runs, and
the connections taken from the pool."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from scheduler.store import Store


def traced_statements(store: Store) -> list[str]:
    """The first three words of every statement SQLite runs on ``store``'s connections from now on."""
    seen: list[str] = []

    @event.listens_for(store.engine, "connect")
    def trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(lambda sql: seen.append(" ".join(sql.split()[:3])))

    store.engine.dispose()  # connections are opened again, traced
    return seen


def checkouts(store: Store) -> list[Any]:
    """The driver connection of each check-out from ``store``'s pool, from now on."""
    taken: list[Any] = []

    @event.listens_for(store.engine, "checkout")
    def note(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        taken.append(dbapi_connection)

    return taken
