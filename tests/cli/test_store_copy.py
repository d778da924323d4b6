"""``tagcast store copy``: a SQLite queue moved to PostgreSQL and back, with ids, keys and history intact, and
passwords never shown."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from store.store_support import NOW, make_post
from typer.testing import CliRunner, Result

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.store import Store

PASSWORD = "s3cret-Pa55"
CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[channels.file]
network = "file"
"""
LEASE = timedelta(minutes=5)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace whose SQLite outbox holds sent, failed, planned and sending deliveries and a pause."""
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        for n in range(25):
            store.upsert(
                make_post(f"posts/{n:02}.md", f"ch{n % 4}", at=NOW + timedelta(minutes=n - 10)), now=NOW
            )
        claimed = store.claim_due(NOW, worker="w1", lease=LEASE, limit=4)
        store.mark_sent(claimed[0].id, Receipt(("r1",), "https://x.example/1", {"cid": "c"}), now=NOW)
        store.mark_failed(claimed[1].id, reason="422: too long", now=NOW)
        store.save_journal(claimed[2].id, {"rkey": "3k"})
        store.pause_channel("ch3", until=None, reason="token revoked", now=NOW)
    return root


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def with_password(url: str) -> str:
    """The same database with a password in the URL (the throw-away cluster trusts loopback anyway)."""
    return make_url(url).set(password=PASSWORD).render_as_string(hide_password=False)


def snapshot(store: Store) -> dict[str, Any]:
    deliveries = store.list(limit=1000)
    return {
        "deliveries": [asdict(d) for d in deliveries],
        "history": {d.id: [asdict(t) for t in store.history(d.id)] for d in deliveries},
        "paused": {name: asdict(p) for name, p in store.paused(NOW).items()},
    }


@pytest.mark.postgres
def test_copy_to_postgresql_and_back(workspace: Path, pg_url: str, tmp_path: Path) -> None:
    target = with_password(pg_url)
    result = tagcast(workspace, "store", "copy", "--to", target)
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert "copied 25 deliveries, 31 transitions, 1 channel_pauses (schema version" in " ".join(
        result.stdout.split()
    )
    assert "tagcast:***@127.0.0.1" in result.stdout and "counts verified" in result.stdout

    with (
        Store.open("sqlite:///var/tagcast.db", root=workspace) as source,
        Store.open(pg_url, root=tmp_path) as copy,
    ):
        assert snapshot(copy) == snapshot(source)
        copy.upsert(
            make_post("posts/new.md", "ch0"), now=NOW
        )  # the history's ids go on after the copied ones
        created = copy.history(copy.list(limit=1000)[-1].id)[0]
        assert created.reason.startswith("queued from")

    again = tagcast(workspace, "store", "copy", "--to", target)
    assert again.exit_code == 1
    assert "not empty (26 deliveries, 32 transitions, 1 channel_pauses)" in again.stderr
    assert "--force" in again.stderr and PASSWORD not in again.output

    forced = tagcast(workspace, "store", "copy", "--to", target, "--force", "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)
    assert report["copied"] == {"deliveries": 25, "transitions": 31, "channel_pauses": 1}
    assert report["verified"] is True and PASSWORD not in forced.output

    back = f"sqlite:///{tmp_path / 'back.db'}"
    returned = tagcast(workspace, "store", "copy", "--from", target, "--to", back)
    assert returned.exit_code == 0, returned.output
    assert PASSWORD not in returned.output
    with (
        Store.open(back, root=tmp_path) as copied,
        Store.open("sqlite:///var/tagcast.db", root=workspace) as source,
    ):
        assert snapshot(copied) == snapshot(source)


def test_an_unreachable_target_is_a_user_error_without_the_password(workspace: Path) -> None:
    url = f"postgresql+psycopg://tagcast:{PASSWORD}@127.0.0.1:1/nowhere"
    result = tagcast(workspace, "store", "copy", "--to", url)
    assert result.exit_code == 1
    assert "tagcast:***@127.0.0.1:1/nowhere" in result.stderr  # redacted, whatever went wrong
    assert PASSWORD not in result.output and "Traceback" not in result.output


def test_copying_an_outbox_onto_itself_is_refused(workspace: Path) -> None:
    result = tagcast(workspace, "store", "copy", "--to", f"sqlite:///{workspace / 'var' / 'tagcast.db'}")
    assert result.exit_code == 1 and "is the outbox being copied" in result.stderr
