"""Opening the outbox: a fresh file, a re-open, a database newer than the code, numbered migrations (on SQLite
and PostgreSQL alike, but for the SQLite file itself)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, select, text
from store.data.make_outbox_v2 import CONFIG as V2_CONFIG
from store.data.make_outbox_v2 import POSTS as V2_POSTS
from store_support import NOW, make_post

from scheduler.config.loader import load_workspace
from scheduler.identity import fingerprint
from scheduler.ingest import ingest
from scheduler.store import DeliveryState, SchemaTooNew, Store, StoreError, UpsertOutcome
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


# --- an outbox from before article identities (schema version 2), made by that tagcast ---------------------

V2_OUTBOX = Path(__file__).parent / "data" / "outbox-v2.sqlite"  # made by data/make_outbox_v2.py


def v2_workspace(tmp_path: Path) -> Path:
    """The workspace of the version 2 outbox, with that outbox file in ``var/``."""
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "var").mkdir()
    (root / "config" / "tagcast.toml").write_text(V2_CONFIG, encoding="utf-8")
    for name, content in V2_POSTS.items():
        (root / "posts" / name).write_text(content, encoding="utf-8")
    shutil.copyfile(V2_OUTBOX, root / "var" / "tagcast.db")
    return root


def test_a_version_2_outbox_is_upgraded_with_the_identity_of_every_delivery(tmp_path: Path) -> None:
    root = v2_workspace(tmp_path)
    url = "sqlite:///var/tagcast.db"
    engine = create_store_engine(url, root)
    try:
        with engine.connect() as connection:
            assert current_version(connection) == 2
    finally:
        engine.dispose()
    with Store.open(url, root=root) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version()
            assert {"feed_states", "feed_entries"} <= set(inspect(connection).get_table_names())
            indexes = {i["name"]: i for i in inspect(connection).get_indexes("deliveries")}
            assert indexes["ix_deliveries_identity_channel"]["unique"]
            assert not indexes["ix_deliveries_source_channel"]["unique"]
        by_source = {d.source: d for d in store.list()}
        assert by_source["posts/alpha.md"].identity == "url:https://example.org/alpha"
        assert by_source["posts/alpha.md"].state is DeliveryState.SENT
        assert by_source["posts/bravo.md"].identity == "url:https://example.org/bravo"
        assert (
            by_source["posts/note.md"].identity
            == f"sha256:{fingerprint('A short note', 'Nothing to link to.')}"
        )
        assert store.epoch(NOW + timedelta(days=30)) == NOW  # its first delivery, not the upgrade


def test_an_upgraded_outbox_recognises_its_articles_under_new_names(tmp_path: Path) -> None:
    root = v2_workspace(tmp_path)
    posts = root / "posts"
    (posts / "alpha.md").rename(posts / "2026-alpha.md")
    (posts / "note.md").rename(posts / "2026-note.md")
    shutil.copy(posts / "bravo.md", posts / "bravo-copy.md")
    (posts / "old.md").write_text(  # from before this outbox: held back, not sent now
        "---\ntitle: Old story\npublish_at: 2026-05-01T09:00:00Z\n---\n\nLong ago.\n", encoding="utf-8"
    )
    later = NOW + timedelta(days=2)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        before = {d.source: d.id for d in store.list()}
        report = ingest(load_workspace(str(root)), store, now=later)
        outcomes = {item.source: item.outcome for item in report.items}
        assert outcomes == {
            "posts/2026-alpha.md": UpsertOutcome.RENAMED,
            "posts/2026-note.md": UpsertOutcome.RENAMED,
            "posts/bravo.md": UpsertOutcome.UNCHANGED,
            "posts/bravo-copy.md": UpsertOutcome.DUPLICATE,
            "posts/old.md": UpsertOutcome.HELD_BACK,
        }
        after = {d.source: d for d in store.list()}
    assert {source: d.id for source, d in after.items()} == {
        "posts/2026-alpha.md": before["posts/alpha.md"],
        "posts/2026-note.md": before["posts/note.md"],
        "posts/bravo.md": before["posts/bravo.md"],
    }
    assert after["posts/2026-alpha.md"].state is DeliveryState.SENT


def test_version_3_upgrades_a_version_2_schema_on_every_backend(db_url: str, tmp_path: Path) -> None:
    """The same upgrade on PostgreSQL: a database taken back to the version 2 schema, then opened."""
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(make_post(), now=NOW)
        store.upsert(make_post("posts/b.md"), now=NOW)
        with store.engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_deliveries_identity_channel"))
            connection.execute(text("ALTER TABLE deliveries DROP COLUMN identity"))
            connection.execute(text("DROP TABLE store_meta"))
            connection.execute(text("DROP TABLE feed_entries"))
            connection.execute(text("DROP TABLE feed_states"))
            connection.execute(text("DROP INDEX ix_deliveries_source_channel"))
            connection.execute(
                text(
                    "CREATE UNIQUE INDEX ix_deliveries_source_channel "
                    "ON deliveries (source, channel, generation)"
                )
            )
            connection.execute(schema_version.update().values(version=2))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version()
            assert {"feed_states", "feed_entries"} <= set(inspect(connection).get_table_names())
        assert {d.source: d.identity for d in store.list()} == {
            "posts/a.md": "url:https://example.org/posts/a.md",
            "posts/b.md": "url:https://example.org/posts/b.md",
        }
        assert store.epoch(NOW + timedelta(days=9)) == NOW


def test_version_5_adds_the_token_expiries_to_a_version_4_outbox(db_url: str, tmp_path: Path) -> None:
    """An outbox of schema version 4 (before token expiries) keeps its deliveries and gets the table."""
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(make_post(), now=NOW)
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE token_expiries"))
            connection.execute(schema_version.update().values(version=4))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 5
            assert "token_expiries" in set(inspect(connection).get_table_names())
        assert [d.source for d in store.list()] == ["posts/a.md"]
        expires = NOW + timedelta(days=3)
        store.record_token_expiry("fb", expires, refreshable=False, now=NOW)
        store.mark_token_alerted("fb", expires)
        store.record_token_expiry("fb", expires, refreshable=False, now=NOW + timedelta(days=1))
        [state] = store.token_expiries()
        assert (state.channel, state.expires_at, state.refreshable) == ("fb", expires, False)
        assert (state.checked_at, state.alerted_for) == (NOW + timedelta(days=1), expires)
        store.record_token_expiry("fb", None, refreshable=False, now=NOW)  # a token that does not expire
        assert store.token_expiries() == []
