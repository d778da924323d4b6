"""``tagcast status --check`` exits 1 with what needs a person (articles that cannot be read, failed or
unknown deliveries, paused channels, queued work and no service ever, a service that crashed, no recent worker
heartbeat), and 0 with "ok" otherwise."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
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
    with Store.open("sqlite:///var/tagcast.db", root=root):
        pass
    assert check(root) == (0, "ok: nothing needs a person\n")
    code, out = check(root, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "problems": []}


def test_queued_work_and_no_service_ever_needs_a_person(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        for source in ("posts/a.md", "posts/b.md"):
            store.upsert(make_post(source, "file", at=now + timedelta(hours=1)), now=now)
    assert check(root) == (
        1,
        "1 thing(s) need a person:\n"
        "- 2 deliveries queued, but no `tagcast serve` has ever run on this outbox: "
        "start `tagcast serve` (or run `tagcast serve --once` from cron)\n",
    )
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.register_worker("w1", host=socket.gethostname(), pid=1, now=now)
        store.stop_worker("w1", now=now)
    assert check(root) == (0, "ok: nothing needs a person\n"), "a service ran and stopped cleanly"


def gone_pid() -> int:
    """The pid of a process that has ended."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(done.stdout)


def test_a_service_that_crashed_needs_a_person_until_one_runs_again(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    now = datetime.now(UTC)
    here, pid = socket.gethostname(), gone_pid()
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.register_worker("w1", host=here, pid=pid, now=now - timedelta(minutes=1))
    code, out = check(root)
    assert code == 1
    assert out.splitlines()[1] == (
        f"- the last `tagcast serve` (worker w1 on {here}, pid {pid}, last heartbeat "
        f"{(now - timedelta(minutes=1)).isoformat(timespec='seconds')}) did not stop cleanly: it was killed "
        "or crashed; see its log, then start `tagcast serve` again (it reconciles what that one was sending)"
    )
    assert len(out.splitlines()) == 2, "its heartbeat is recent: only the crash is reported"
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.register_worker("w2", host=here, pid=1, now=now)  # a new service runs (pid 1 always does)
    assert check(root)[0] == 0
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.stop_worker("w2", now=now)
    assert check(root)[0] == 0, "the last run stopped cleanly"


def test_a_worker_of_another_host_counts_as_gone_after_max_heartbeat_age(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        store.register_worker("far", host="elsewhere.invalid", pid=gone_pid(), now=now - timedelta(minutes=5))
    assert check(root)[0] == 0, "another host's process cannot be looked at: its heartbeat is recent"
    code, out = check(root, "--max-heartbeat-age", "2m")
    assert code == 1
    assert "- the last `tagcast serve` (worker far on elsewhere.invalid" in out
    assert "- no worker heartbeat for 5m" in out


def test_an_article_that_cannot_be_read_needs_a_person(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "posts").mkdir()
    (root / "posts" / "ok.md").write_text("---\ntitle: Fine\n---\nA body.\n", encoding="utf-8")
    (root / "posts" / "broken.json").write_text('{"title": "x",\n "body": \n', encoding="utf-8")
    code, out = check(root)
    assert code == 1
    assert out.splitlines() == [
        "1 thing(s) need a person:",
        "- cannot read posts/broken.json:3: invalid JSON: Expecting value (column 1); remove the comma just "
        'before "]" or "}", or add the missing value (not sent until fixed; `tagcast check` lists every '
        "problem)",
    ]
    (root / "posts" / "broken.json").unlink()
    assert check(root) == (0, "ok: nothing needs a person\n")


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
    assert out.splitlines()[0] == "5 thing(s) need a person:"
    assert "- file: 1 delivery unknown (maybe posted)" in out
    assert "`tagcast queue resolve ID --sent URL` or `--not-sent`" in out
    assert "- masto: 1 delivery failed; fix the cause, then `tagcast queue retry ID`" in out
    assert "- masto: paused until resumed: credentials rejected" in out
    assert "- no worker heartbeat for 30m" in out
    assert "- the last `tagcast serve` (worker w1 on box, pid 1, last heartbeat" in out

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
