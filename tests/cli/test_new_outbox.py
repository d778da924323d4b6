"""A new or lost outbox never floods: articles whose ``publish_at`` is more than a day before the outbox's
first use are held back and counted, ``queue add --backfill`` sends them. A real SQLite file in tmp_path."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daily_workspace import DAILY_CONFIG
from service.processes import tagcast as run_tagcast
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from scheduler.store import Store

NOW = "2026-06-01T08:00:00+00:00"
CLOCK = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

CONFIG = DAILY_CONFIG.replace('template = "post.j2"\n', "")
"""The shared daily workspace with the default template (this workspace has no ``post.j2``)."""

NOTE = (
    "note: 2 articles were held back: publish_at is more than a day before this outbox was first used "
    "(its first use: 2026-06-01T08:00+00:00). A new outbox (first start, or its database lost) does not "
    "send the past again by itself; `tagcast queue add --backfill` sends them"
)


def article(title: str, publish_at: str | None = None) -> str:
    when = f"publish_at: {publish_at}\n" if publish_at else ""
    slug = title.lower().replace(" ", "-")
    return f"---\ntitle: {title}\nurl: https://example.org/{slug}\n{when}---\n\nAbout {title}.\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    write(root, "old-1.md", article("Old one", "2026-03-01T09:00:00Z"))
    write(root, "old-2.md", article("Old two", "2026-05-30T07:59:00Z"))  # a day and a minute before
    return root


def write(root: Path, name: str, text: str) -> None:
    (root / "posts" / name).write_text(text, encoding="utf-8")


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def flat(text: str) -> str:
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def rows(result: Result) -> dict[str, dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return {row["source"]: row for row in json.loads(result.stdout)}


def queued(root: Path) -> dict[str, Any]:
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        return {d.source: d for d in store.list(limit=100)}


def test_a_new_outbox_holds_back_the_past_and_says_how_to_send_it(workspace: Path) -> None:
    write(workspace, "recent.md", article("Recent", "2026-05-31T09:00:00Z"))  # less than a day: now
    write(workspace, "undated.md", article("Undated"))  # no publish_at: the next free slot

    result = tagcast(workspace, "queue", "add", "--now", NOW)
    assert result.exit_code == 0, result.output
    assert NOTE in flat(result.stderr)
    assert "2 added, 2 held-back" in flat(result.stdout)
    assert {source: d.scheduled_at for source, d in queued(workspace).items()} == {
        "posts/recent.md": CLOCK,
        "posts/undated.md": datetime(2026, 6, 1, 16, 0, tzinfo=UTC),  # 18:00 in Berlin
    }

    # the next run, an hour later, holds back the same articles: the outbox's first use does not move
    again = rows(tagcast(workspace, "queue", "add", "--json", "--now", "2026-06-01T09:00:00+00:00"))
    assert again["posts/old-1.md"]["outcome"] == again["posts/old-2.md"]["outcome"] == "held-back"
    assert again["posts/old-1.md"]["detail"] == (
        "publish_at 2026-03-01T09:00:00+00:00 is more than a day before this outbox was first used: not "
        "sent by itself (`tagcast queue add --backfill posts/old-1.md` sends it)"
    )
    assert set(queued(workspace)) == {"posts/recent.md", "posts/undated.md"}


def test_backfill_queues_what_was_held_back_for_now(workspace: Path) -> None:
    assert rows(tagcast(workspace, "queue", "add", "--json", "--now", NOW))["posts/old-1.md"]["outcome"] == (
        "held-back"
    )
    later = "2026-06-01T10:00:00+00:00"
    back = rows(tagcast(workspace, "queue", "add", "--backfill", "--json", "--now", later))
    assert back["posts/old-1.md"]["outcome"] == back["posts/old-2.md"]["outcome"] == "added"
    held = queued(workspace)
    assert {source: d.scheduled_at for source, d in held.items()} == {
        "posts/old-1.md": CLOCK + timedelta(hours=2),
        "posts/old-2.md": CLOCK + timedelta(hours=2),
    }
    # once queued they are the outbox's own: adding again without --backfill changes nothing
    after = rows(tagcast(workspace, "queue", "add", "--json", "--now", later))
    assert {row["outcome"] for row in after.values()} == {"unchanged"}


def test_backfill_of_one_file_queues_only_that_one(workspace: Path) -> None:
    tagcast(workspace, "queue", "add", "--now", NOW)
    one = tagcast(
        workspace, "queue", "add", "--backfill", str(workspace / "posts" / "old-2.md"), "--now", NOW
    )
    assert one.exit_code == 0, one.output
    assert set(queued(workspace)) == {"posts/old-2.md"}


def test_an_outbox_in_use_still_sends_a_past_publish_at_now(workspace: Path) -> None:
    (workspace / "posts" / "old-1.md").unlink()
    (workspace / "posts" / "old-2.md").unlink()
    write(workspace, "first.md", article("First"))
    tagcast(workspace, "queue", "add", "--now", NOW)  # the outbox's first use: 2026-06-01 08:00
    write(workspace, "late.md", article("Late", "2026-06-03T09:00:00Z"))
    write(workspace, "before.md", article("Before", "2026-05-20T09:00:00Z"))
    a_week_later = "2026-06-08T08:00:00+00:00"
    result = rows(tagcast(workspace, "queue", "add", "--json", "--now", a_week_later))
    assert result["posts/late.md"]["outcome"] == "added"
    assert result["posts/late.md"]["scheduled_at"] == "2026-06-08T10:00:00+02:00"  # a past time means now
    assert result["posts/before.md"]["outcome"] == "held-back"  # from before the outbox existed


def test_a_lost_outbox_does_not_resend_the_past_and_backfill_sends_it(tmp_path: Path) -> None:
    """As a user would meet it: `var/` deleted (or a fresh checkout), then `tagcast serve --once`."""
    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    write(root, "sent-long-ago.md", article("Sent long ago", "2020-01-01T09:00:00Z"))
    write(root, "sent-last-year.md", article("Sent last year", "2025-01-01T09:00:00Z"))
    write(root, "now.md", article("Right now", "now"))
    outbox = root / "var" / "outbox" / "file"

    first = run_tagcast("serve", "--once", cwd=root)
    assert first.returncode == 0, first.stderr
    assert len(list(outbox.glob("*.txt"))) == 1  # only `publish_at: now`
    log = flat(first.stderr)
    assert "WARNING" in log and "2 articles were held back" in log
    assert "`tagcast queue add --backfill` sends them" in log

    shutil.rmtree(root / "var")  # lost: the very same again, nothing floods
    again = run_tagcast("serve", "--once", cwd=root)
    assert again.returncode == 0, again.stderr
    assert len(list(outbox.glob("*.txt"))) == 1

    backfill = run_tagcast("queue", "add", "--backfill", cwd=root)
    assert backfill.returncode == 0, backfill.stderr
    sent = run_tagcast("serve", "--once", cwd=root)
    assert sent.returncode == 0, sent.stderr
    texts = sorted(path.read_text(encoding="utf-8") for path in outbox.glob("*.txt"))
    assert len(texts) == 3 and any("Sent long ago" in text for text in texts)
