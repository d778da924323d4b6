"""``tagcast status`` lists the workers seen recently: host, pid, last heartbeat, state, what each holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.store_support import make_post
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.store import Store

CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[service]
watch_interval = "10s"

[channels.file]
network = "file"
"""


def test_status_shows_alive_silent_and_stopped_workers_with_their_holdings(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.upsert(make_post("posts/a.md", "file", at=now - timedelta(minutes=1)), now=now)
        store.register_worker("alpha-11-aa", host="alpha", pid=11, now=now)
        store.register_worker("beta-22-bb", host="beta", pid=22, now=now - timedelta(minutes=10))
        store.register_worker("gamma-33-cc", host="gamma", pid=33, now=now - timedelta(minutes=1))
        store.stop_worker("gamma-33-cc", now=now - timedelta(minutes=1))
        store.register_worker("old-44-dd", host="old", pid=44, now=now - timedelta(days=3))
        [held] = store.claim_due(now, worker="beta-22-bb", lease=timedelta(minutes=5), limit=1)

    result = CliRunner().invoke(app, ["status", "--json", "--config", str(root)])
    assert result.exit_code == 0, result.output
    workers = {w["id"]: w for w in json.loads(result.stdout)["workers"]}
    assert set(workers) == {"alpha-11-aa", "beta-22-bb", "gamma-33-cc"}  # not the one gone for 3 days
    assert (workers["alpha-11-aa"]["host"], workers["alpha-11-aa"]["pid"]) == ("alpha", 11)
    assert {w["id"]: w["state"] for w in workers.values()} == {
        "alpha-11-aa": "alive",
        "beta-22-bb": "silent",  # no heartbeat for 10 minutes: three watch intervals is 30 s
        "gamma-33-cc": "stopped",
    }
    assert workers["beta-22-bb"]["holding"] == [held.id]
    assert workers["alpha-11-aa"]["holding"] == []
    assert datetime.fromisoformat(workers["alpha-11-aa"]["heartbeat_at"]) == now.replace(
        microsecond=now.microsecond
    )

    table = CliRunner().invoke(app, ["status", "--config", str(root)])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "workers" in text and "alpha-11-aa" in text and "silent" in text
    assert f"beta-22-bb holds: {held.id}" in text
