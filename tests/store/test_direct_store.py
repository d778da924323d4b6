"""DirectStore (sqlite3 alone, for the quick queue commands) against the Store (SQLAlchemy) on real files:
the same SQL, the same answers, the same rows after the same actions."""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from store_support import BERLIN, NOW, make_post

from scheduler.store import DeliveryConflict, DeliveryNotFound, DeliveryState, Store
from scheduler.store import direct_sql as generated
from scheduler.store.direct import DirectStore
from scheduler.store.direct_gen import generate
from scheduler.store.models import LONG_PAST
from scheduler.store.sqlite_file import configure_connection

LEASE = timedelta(minutes=5)
DATA = Path(__file__).parent / "data"


def test_the_generated_sql_is_what_the_store_s_statements_compile_to() -> None:
    written = Path(generated.__file__).read_text(encoding="utf-8")
    assert written == generate(), (
        "scheduler/store/direct_sql.py is out of date: run "
        "python -m scheduler.store.direct_gen > scheduler/store/direct_sql.py"
    )


def fill(root: Path) -> Path:
    """An outbox with planned, sending, failed and unknown deliveries on two channels; its file."""
    url = f"sqlite:///{root / 'var' / 'tagcast.db'}"
    with Store.open(url, root=root) as store:
        for n in range(8):
            at = (NOW + timedelta(hours=n % 3, minutes=n)).astimezone(BERLIN)
            store.upsert(make_post(f"posts/{n}.md", "a" if n % 2 else "b", at=at), now=NOW)
        claimed = store.claim_due(NOW + timedelta(hours=1, minutes=5), worker="w1", lease=LEASE, limit=10)
        ids = sorted(d.id for d in claimed)
        store.mark_failed(ids[0], reason="HTTP 400: refused", now=NOW + timedelta(minutes=1))
        store.mark_unknown(ids[1], reason="connection reset", now=NOW + timedelta(minutes=2))
        store.claim_due(NOW + timedelta(hours=1, minutes=5), worker="w1", lease=LEASE, limit=1)  # sending
    return root / "var" / "tagcast.db"


class RecordingConnection(sqlite3.Connection):
    """A real sqlite3 connection that keeps the statements it runs, in SQLAlchemy's ``?`` style."""

    ran: list[str]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self.ran.append(re.sub(r":\w+", "?", sql))
        return super().execute(sql, parameters)

    def cursor(self, factory: Any = None) -> sqlite3.Cursor:
        return super().cursor(factory or RecordingCursor)


class RecordingCursor(sqlite3.Cursor):
    """A cursor of a :class:`RecordingConnection`: what it runs is kept by its connection."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        connection = self.connection
        assert isinstance(connection, RecordingConnection)
        connection.ran.append(re.sub(r":\w+", "?", sql))
        return super().execute(sql, parameters)


class StoreConnection(RecordingConnection):
    """The connections of the Store under test: every one keeps its statements in one list."""

    ran: list[str] = []  # noqa: RUF012 (shared on purpose, by every connection of the pool)


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Store, DirectStore]]:
    """The same outbox twice: a Store on one copy, a DirectStore on the other."""
    database = fill(tmp_path / "a")
    (tmp_path / "b" / "var").mkdir(parents=True)
    copy = tmp_path / "b" / "var" / "tagcast.db"
    shutil.copy(database, copy)
    store = Store.open(f"sqlite:///{database}", root=tmp_path / "a")
    connection = sqlite3.connect(copy, factory=RecordingConnection)
    connection.ran = []
    configure_connection(connection)
    direct = DirectStore(connection)
    yield store, direct
    store.close()
    direct.close()


def actions(ids: dict[str, str]) -> list[tuple[str, Callable[[Any], Any]]]:
    later = NOW + timedelta(days=2)
    return [
        ("list", lambda s: s.list()),
        ("list by state", lambda s: s.list(states=["planned", "failed"], limit=3, offset=1)),
        ("list by channel", lambda s: s.list(channel="a")),
        ("list by both", lambda s: s.list(states=[DeliveryState.UNKNOWN], channel="b")),
        ("get", lambda s: s.get(ids["planned"])),
        ("history", lambda s: s.history(ids["failed"])),
        ("counts", lambda s: s.counts()),
        ("cancel", lambda s: s.cancel(ids["planned"], now=later)),
        ("reschedule", lambda s: s.reschedule(ids["planned"], later + timedelta(hours=3), now=later)),
        ("retry", lambda s: s.retry(ids["failed"], now=later)),
        ("retry unknown", lambda s: s.retry(ids["unknown"], now=later, reason="checked: not posted")),
        ("history after", lambda s: s.history(ids["failed"])),
    ]


def statements(ran: list[str]) -> list[str]:
    return [sql for sql in ran if not sql.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"))]


def test_the_same_actions_give_the_same_answers_rows_and_sql(pair: tuple[Store, DirectStore]) -> None:
    store, direct = pair
    ids = {d.state.value: d.id for d in reversed(store.list(limit=100))}
    assert {"planned", "failed", "unknown", "sending"} <= set(ids)
    ran_by_store = StoreConnection.ran  # what the Store's driver connections run, however they are called

    @event.listens_for(store.engine, "do_connect")
    def recording(_dialect: Any, _record: Any, _args: Any, options: dict[str, Any]) -> None:
        options["factory"] = StoreConnection

    store.engine.dispose()  # connect again, with that factory

    connection = direct.connection
    assert isinstance(connection, RecordingConnection)
    for name, act in actions(ids):
        ran_by_store.clear()
        connection.ran.clear()
        assert act(direct) == act(store), name
        assert statements(connection.ran) == statements(ran_by_store), name
    assert dump(sqlite3.connect(str(store.engine.url.database))) == dump(connection)


def test_refusals_are_the_store_s(pair: tuple[Store, DirectStore]) -> None:
    store, direct = pair
    sent = store.list(states=["sending"])[0].id
    for act in (
        lambda s: s.get("d_nosuchthing"),
        lambda s: s.history("d_nosuchthing"),
        lambda s: s.cancel(sent, now=NOW),
        lambda s: s.retry(sent, now=NOW),
        lambda s: s.reschedule(sent, NOW, now=NOW),
    ):
        with pytest.raises((DeliveryNotFound, DeliveryConflict)) as by_store:
            act(store)
        with pytest.raises(type(by_store.value)) as by_direct:
            act(direct)
        assert str(by_direct.value) == str(by_store.value)
    assert dump(sqlite3.connect(str(store.engine.url.database))) == dump(direct.connection)


def dump(connection: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
        for table in ("deliveries", "transitions", "channel_pauses")
    }


def test_an_unreadable_time_reads_as_long_past_in_both(
    pair: tuple[Store, DirectStore], caplog: pytest.LogCaptureFixture
) -> None:
    store, direct = pair
    target = store.list(states=["planned"])[0].id
    for connection in (sqlite3.connect(str(store.engine.url.database)), direct.connection):
        connection.execute("UPDATE deliveries SET next_attempt_at = 'garbage' WHERE id = ?", (target,))
        connection.commit()
    with caplog.at_level(logging.WARNING, logger="tagcast.store"):
        assert direct.get(target) == store.get(target)
    assert direct.get(target).next_attempt_at == LONG_PAST
    assert "'garbage' cannot be read" in caplog.text


def test_open_leaves_what_needs_the_store_to_it(tmp_path: Path) -> None:
    missing = tmp_path / "var" / "tagcast.db"
    assert DirectStore.open(missing, root=tmp_path) is None
    assert not missing.exists()  # the Store creates it

    old = tmp_path / "old" / "var" / "tagcast.db"
    old.parent.mkdir(parents=True)
    shutil.copy(DATA / "outbox-v2.sqlite", old)
    assert DirectStore.open(old, root=tmp_path / "old") is None  # the Store migrates it

    newer = fill(tmp_path / "newer")
    with sqlite3.connect(newer) as raw:
        raw.execute("UPDATE schema_version SET version = version + 1")
    raw.close()
    assert DirectStore.open(newer, root=tmp_path / "newer") is None  # the Store says SchemaTooNew

    current = fill(tmp_path / "current")
    current.chmod(0o644)
    opened = DirectStore.open(current, root=tmp_path / "current")
    assert opened is not None
    opened.close()
    assert current.stat().st_mode & 0o777 == 0o600  # tightened, as the Store does
