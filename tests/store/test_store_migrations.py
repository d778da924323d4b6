"""Opening the outbox: a fresh file, a re-open, a database newer than the code, numbered migrations (on SQLite
and PostgreSQL alike, but for the SQLite file itself)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, select, text
from store_support import NOW, make_post

from scheduler.store import SchemaTooNew, Store, StoreError
from scheduler.store.dialect import create_store_engine, writer
from scheduler.store.migrations import MIGRATIONS, current_version, latest_version, migrate
from scheduler.store.schema import schema_version


def test_fresh_database_is_created_in_wal_mode_with_the_latest_version(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)  # relative to the workspace root
    try:
        database = tmp_path / "var" / "tagcast.db"
        assert database.is_file()
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version()
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            tables = set(inspect(connection).get_table_names())
        assert {"deliveries", "transitions", "channel_pauses", "schema_version"} <= tables
    finally:
        store.close()


def test_reopening_keeps_the_data_and_the_version(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(make_post(), now=NOW)
    with Store.open(db_url, root=tmp_path) as store:
        [delivery] = store.list()
        assert delivery.source == "posts/a.md"
        with store.engine.connect() as connection:
            assert connection.execute(select(schema_version.c.version)).all() == [(latest_version(),)]


def test_a_database_newer_than_the_code_is_refused(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store, store.engine.begin() as connection:
        connection.execute(schema_version.update().values(version=latest_version() + 1))
    with pytest.raises(SchemaTooNew) as caught:
        Store.open(db_url, root=tmp_path)
    message = str(caught.value)
    assert f"schema version {latest_version() + 1}" in message
    assert "upgrade tagcast" in message


def test_migrations_run_in_order_from_the_stamped_version(db_url: str, tmp_path: Path) -> None:
    Store.open(db_url, root=tmp_path).close()
    applied: list[int] = []
    first, second = latest_version() + 1, latest_version() + 2

    def add_note_column(connection: Connection) -> None:
        applied.append(first)
        connection.execute(text("ALTER TABLE deliveries ADD COLUMN note TEXT"))

    def add_index(connection: Connection) -> None:
        applied.append(second)
        connection.execute(text("CREATE INDEX ix_note ON deliveries (note)"))

    newer = {**MIGRATIONS, second: add_index, first: add_note_column}
    engine = create_store_engine(db_url, tmp_path)
    try:
        with writer(engine).begin() as connection:
            assert migrate(connection, newer) == second
        with writer(engine).begin() as connection:
            assert migrate(connection, newer) == second  # nothing left to do
        with engine.connect() as connection:
            assert current_version(connection) == second
            columns = {column["name"] for column in inspect(connection).get_columns("deliveries")}
        assert "note" in columns
        assert applied == [first, second]
    finally:
        engine.dispose()
    with pytest.raises(SchemaTooNew):  # and the real code now refuses it
        Store.open(db_url, root=tmp_path)


def test_a_database_that_tagcast_did_not_make_is_refused(db_url: str, tmp_path: Path) -> None:
    engine = create_store_engine(db_url, tmp_path)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE deliveries (id TEXT)"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError, match="schema_version"):
        Store.open(db_url, root=tmp_path)


def test_a_bad_url_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store.open("no such url", root=tmp_path)
