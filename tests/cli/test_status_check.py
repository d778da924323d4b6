"""``tagcast status --check`` exits 1 with what needs a person (failed or unknown deliveries, paused channels,
no recent worker heartbeat), and 0 with "ok" otherwise."""

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

[channels.file]
network = "file"

[channels.masto]
network = "mastodon"
base_url = "https://masto.example"
"""


def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    return root


def check(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", "--check", "--config", str(root), *args])
    return result.exit_code, result.stdout


def test_nothing_needs_a_person_in_a_fresh_outbox(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        now = datetime.now(UTC)
        store.upsert(make_post("posts/a.md", "file", at=now + timedelta(hours=1)), now=now)
    assert check(root) == (0, "ok: nothing needs a person\n")
    code, out = check(root, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "problems": []}


def test_failed_unknown_paused_and_a_silent_cluster_need_a_person(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        for source in ("posts/a.md", "posts/b.md"):
            store.upsert(make_post(source, "masto", at=now - timedelta(minutes=5)), now=now)
        store.upsert(make_post("posts/c.md", "file", at=now - timedelta(minutes=5)), now=now)
        claimed = store.claim_due(now, worker="w1", lease=timedelta(minutes=5), limit=10)
        by_channel = {d.channel: d for d in claimed}
        store.mark_failed(by_channel["masto"].id, reason="401 The access token is invalid", now=now)
        store.mark_unknown(by_channel["file"].id, reason="the answer was lost", now=now)
        store.pause_channel("masto", until=None, reason="credentials rejected", now=now)
        store.register_worker("w1", host="box", pid=1, now=now - timedelta(minutes=30))

    code, out = check(root)
    assert code == 1
    assert out.splitlines()[0] == "4 thing(s) need a person:"
    assert "- file: 1 delivery unknown (maybe posted)" in out
    assert "`tagcast queue resolve ID --sent URL` or `--not-sent`" in out
    assert "- masto: 1 delivery failed; fix the cause, then `tagcast queue retry ID`" in out
    assert "- masto: paused until resumed: credentials rejected" in out
    assert "- no worker heartbeat for 30m" in out

    code, out = check(root, "--max-heartbeat-age", "1h", "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and len(data["problems"]) == 3  # the heartbeat is recent enough


def test_a_recent_heartbeat_is_fine_and_a_bad_age_is_a_usage_error(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.register_worker("w1", host="box", pid=1, now=datetime.now(UTC) - timedelta(minutes=2))
    assert check(root)[0] == 0
    assert check(root, "--max-heartbeat-age", "1m")[0] == 1
    assert check(root, "--max-heartbeat-age", "soon")[0] == 2
