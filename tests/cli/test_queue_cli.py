"""``tagcast queue ...`` and ``tagcast status`` on a real workspace and a real SQLite outbox in tmp_path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daily_workspace import DAILY_CONFIG
from typer.testing import CliRunner, Result

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.store import DeliveryState, Store
from tests.conftest import WriteWorkspace

NOW = "2026-06-01T08:00:00+00:00"  # 10:00 in Berlin: the next slots are 18:00 today, then 09:00 tomorrow
CLOCK = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)

CONFIG = (
    DAILY_CONFIG
    + """
[channels.archive]
network = "file"
enabled = false
template = "post.j2"

[channels.broken]
network = "file"
template = "broken.j2"

[[rules]]
name = "history"
tags = ["History"]
channels = ["file", "archive"]

[[rules]]
name = "oops"
tags = ["Broken"]
channels = ["broken"]
"""
)

TEMPLATES = {
    "post.j2": "{{ title }}\n\n{{ body }}\n{% for tag in tags %}{{ tag }} {% endfor %}",
    "broken.j2": "{{ no_such_variable }}",
}


def article(title: str, body: str, tags: str = "History") -> str:
    slug = title.lower().replace(" ", "-")
    return f"---\ntitle: {title}\nurl: https://example.org/{slug}\ntags: [{tags}]\n---\n\n{body}\n"


@pytest.fixture
def workspace(make_workspace: WriteWorkspace) -> Path:
    posts = {
        "a.md": article("Alpha story", "The first body."),
        "b.md": article("Bravo story", "The second body."),
    }
    return make_workspace(CONFIG, posts, templates=TEMPLATES)


def write_post(root: Path, name: str, text: str) -> None:
    (root / "posts" / name).write_text(text, encoding="utf-8")


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def flat(text: str) -> str:
    """Terminal output without rich's box drawing and line wrapping, for ``in`` checks."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def open_store(root: Path) -> Store:
    return Store.open("sqlite:///var/tagcast.db", root=root)


def queued(root: Path) -> dict[str, dict[str, Any]]:
    """``queue list --json`` by source."""
    return {row["source"]: row for row in as_json(tagcast(root, "queue", "list", "--json"))}


def add(root: Path, *args: str) -> Result:
    return tagcast(root, "queue", "add", "--now", NOW, *args)


def test_add_queues_each_post_into_the_next_free_slot(workspace: Path) -> None:
    result = add(workspace, "--json")
    items = {(item["source"], item["channel"]): item for item in as_json(result)}
    assert items["posts/a.md", "file"]["outcome"] == "added"
    assert items["posts/b.md", "file"]["outcome"] == "added"
    assert items["posts/a.md", "archive"]["outcome"] == "skipped"  # disabled channel: previewed, not queued
    assert "disabled" in items["posts/a.md", "archive"]["detail"]

    rows = queued(workspace)
    assert set(rows) == {"posts/a.md", "posts/b.md"}
    a, b = rows["posts/a.md"], rows["posts/b.md"]
    assert a["scheduled_at"] == "2026-06-01T18:00:00+02:00"
    assert b["scheduled_at"] == "2026-06-02T09:00:00+02:00"
    assert a["parts"] == ["Alpha story\n\nThe first body.\n#History"]
    assert a["lengths"] and a["limit"] > 0
    assert (a["channel"], a["network"], a["rule"], a["state"], a["attempts"]) == (
        "file",
        "file",
        "history",
        "planned",
        0,
    )
    assert a["problems"] == [] and a["remote_url"] is None and a["id"].startswith("d_")
    with open_store(workspace) as store:
        assert len(store.list()) == 2
        assert store.get(a["id"]).scheduled_at == datetime(2026, 6, 1, 16, 0, tzinfo=UTC)


def test_adding_again_changes_nothing_and_an_edit_keeps_the_slot(workspace: Path) -> None:
    add(workspace)
    before = queued(workspace)
    again = as_json(add(workspace, "--json"))
    assert {item["outcome"] for item in again if item["channel"] == "file"} == {"unchanged"}
    assert queued(workspace) == before

    write_post(workspace, "a.md", article("Alpha story", "A corrected first body."))
    write_post(workspace, "c.md", article("Charlie story", "A third body."))
    items = {item["source"]: item for item in as_json(add(workspace, "--json")) if item["channel"] == "file"}
    assert items["posts/a.md"]["outcome"] == "updated"
    assert items["posts/b.md"]["outcome"] == "unchanged"
    assert items["posts/c.md"]["outcome"] == "added"
    after = queued(workspace)
    a = after["posts/a.md"]
    assert a["parts"] == ["Alpha story\n\nA corrected first body.\n#History"]
    assert (a["id"], a["scheduled_at"]) == (before["posts/a.md"]["id"], before["posts/a.md"]["scheduled_at"])
    # the new article takes the next FREE slot after what is queued
    assert after["posts/c.md"]["scheduled_at"] == "2026-06-02T18:00:00+02:00"
    with open_store(workspace) as store:
        assert store.get(a["id"]).idempotency_key == store.get(before["posts/a.md"]["id"]).idempotency_key


def test_posts_with_problems_and_broken_articles_are_reported_and_nothing_queued_is_lost(
    workspace: Path,
) -> None:
    add(workspace)
    before = queued(workspace)
    write_post(workspace, "bad.md", article("Oops story", "Renders badly.", tags="Broken"))
    write_post(workspace, "b.md", "---\ntitle: [unclosed\n---\nbody\n")
    (workspace / "posts" / "a.md").unlink()
    result = add(workspace, "--json")
    assert result.exit_code == 1
    items = {(item["source"], item["channel"]): item for item in json.loads(result.stdout)}
    bad = items["posts/bad.md", "broken"]
    assert bad["outcome"] == "skipped" and bad["problems"]
    assert "no_such_variable" in bad["problems"][0]
    assert "article error" in result.stderr and "posts/b.md" in result.stderr
    assert "posts/a.md is gone from the posts folder; still queued" in result.stderr
    assert not any("posts/b.md" in line for line in result.stderr.splitlines() if "gone" in line)
    assert queued(workspace) == before  # the removed and the broken article's deliveries are untouched


def test_an_edit_after_sending_needs_repost(workspace: Path) -> None:
    add(workspace)
    a = queued(workspace)["posts/a.md"]
    with open_store(workspace) as store:
        slot = store.get(a["id"]).scheduled_at
        store.claim_due(slot, worker="test", lease=LEASE, limit=5)
        store.mark_sent(a["id"], Receipt(remote_ids=("r1",), url="https://social.example/1"), now=slot)
    write_post(workspace, "a.md", article("Alpha story", "Edited after it went out."))
    items = {item["source"]: item for item in as_json(add(workspace, "--json")) if item["channel"] == "file"}
    assert items["posts/a.md"]["outcome"] == "already-sent"
    assert "--repost" in items["posts/a.md"]["detail"]
    items = {
        item["source"]: item
        for item in as_json(add(workspace, "--repost", "--json"))
        if item["channel"] == "file"
    }
    repost = items["posts/a.md"]
    assert repost["outcome"] == "reposted"
    assert repost["id"] != a["id"] and repost["state"] == "planned"
    sent = as_json(tagcast(workspace, "queue", "list", "--state", "sent", "--json"))
    assert [row["id"] for row in sent] == [a["id"]]
    assert sent[0]["remote_url"] == "https://social.example/1"


def test_a_changed_publish_at_moves_the_queued_post(workspace: Path) -> None:
    add(workspace)
    before = queued(workspace)["posts/a.md"]
    text = article("Alpha story", "The first body.").replace(
        "tags:", "publish_at: 2026-06-10T12:00:00+02:00\ntags:"
    )
    write_post(workspace, "a.md", text)
    items = {item["source"]: item for item in as_json(add(workspace, "--json")) if item["channel"] == "file"}
    assert items["posts/a.md"]["outcome"] == "updated"
    after = queued(workspace)["posts/a.md"]
    assert (after["id"], after["scheduled_at"]) == (before["id"], "2026-06-10T12:00:00+02:00")
    assert as_json(add(workspace, "--json"))[0]["outcome"] == "unchanged"


def test_an_edit_while_sending_is_left_alone_and_reported(workspace: Path) -> None:
    add(workspace)
    a = queued(workspace)["posts/a.md"]
    with open_store(workspace) as store:
        store.claim_due(CLOCK + timedelta(days=1), worker="test", lease=LEASE, limit=1)
    write_post(workspace, "a.md", article("Alpha story", "Edited while it is being sent."))
    items = {item["source"]: item for item in as_json(add(workspace, "--json")) if item["channel"] == "file"}
    assert items["posts/a.md"]["outcome"] == "in-flight"
    assert f"delivery {a['id']} is sending: left as it was" in items["posts/a.md"]["detail"]
    assert queued(workspace)["posts/a.md"]["parts"] == a["parts"]


def test_list_filters_pages_and_rejects_unknown_states(workspace: Path) -> None:
    add(workspace)
    write_post(workspace, "c.md", article("Charlie story", "A third body."))
    add(workspace)
    all_rows = as_json(tagcast(workspace, "queue", "list", "--json"))
    assert [row["source"] for row in all_rows] == ["posts/a.md", "posts/b.md", "posts/c.md"]
    page = as_json(tagcast(workspace, "queue", "list", "--limit", "2", "--offset", "1", "--json"))
    assert [row["source"] for row in page] == ["posts/b.md", "posts/c.md"]
    assert as_json(tagcast(workspace, "queue", "list", "--channel", "archive", "--json")) == []
    assert len(as_json(tagcast(workspace, "queue", "list", "--state", "planned", "--json"))) == 3
    table = tagcast(workspace, "queue", "list")
    assert table.exit_code == 0
    assert all_rows[0]["id"] in table.stdout and "planned" in table.stdout
    wrong = tagcast(workspace, "queue", "list", "--state", "done")
    assert wrong.exit_code == 2
    assert "'done' is not a state" in flat(wrong.output)


def test_show_prints_every_field_and_the_history(workspace: Path) -> None:
    add(workspace)
    a = queued(workspace)["posts/a.md"]
    shown = as_json(tagcast(workspace, "queue", "show", a["id"], "--json"))
    assert shown["id"] == a["id"] and shown["parts"] == a["parts"]
    assert shown["idempotency_key"].startswith("tagcast-")
    assert shown["article"]["title"] == "Alpha story"
    assert shown["receipt"] == {"remote_ids": [], "url": None, "extra": {}}
    [created] = shown["history"]
    assert (created["from"], created["to"]) == (None, "planned")
    assert "posts/a.md" in created["reason"]
    text = tagcast(workspace, "queue", "show", a["id"])
    assert text.exit_code == 0
    assert "Alpha story" in text.stdout and "history" in text.stdout


def test_an_unknown_id_exits_1_and_names_queue_list(workspace: Path) -> None:
    add(workspace)
    for command in (["show"], ["cancel"], ["retry"], ["reschedule", "--at", "2026-07-01T10:00"]):
        result = tagcast(workspace, "queue", *command[:1], "d_nosuchid00", *command[1:])
        assert result.exit_code == 1, (command, result.output)
        assert "no delivery with id 'd_nosuchid00'" in result.stderr
        assert "tagcast queue list" in result.stderr


def test_cancel_and_reschedule(workspace: Path) -> None:
    add(workspace)
    rows = queued(workspace)
    a, b = rows["posts/a.md"]["id"], rows["posts/b.md"]["id"]
    result = tagcast(workspace, "queue", "cancel", a)
    assert result.exit_code == 0 and f"cancelled {a}" in result.stdout
    again = tagcast(workspace, "queue", "cancel", a)
    assert again.exit_code == 1 and "it is cancelled" in again.stderr
    moved = tagcast(workspace, "queue", "reschedule", b, "--at", "2026-07-01T10:00", "--now", NOW)  # Berlin
    assert moved.exit_code == 0, moved.output
    assert queued(workspace)["posts/b.md"]["scheduled_at"] == "2026-07-01T10:00:00+02:00"
    with open_store(workspace) as store:
        assert store.get(a).state is DeliveryState.CANCELLED
        assert store.get(b).scheduled_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
        reasons = [t.reason for t in store.history(b)]
    assert reasons[-1].startswith("rescheduled by the operator")
    assert f"rescheduled to 2026-07-01 10:00 CEST: {b} (posts/b.md -> file)" in flat(moved.stdout)
    bad = tagcast(workspace, "queue", "reschedule", b, "--at", "next tuesday")
    assert bad.exit_code == 2 and "is not an ISO 8601 time" in flat(bad.output)


def test_retry_and_resolve(workspace: Path) -> None:
    add(workspace)
    rows = queued(workspace)
    a, b = rows["posts/a.md"]["id"], rows["posts/b.md"]["id"]
    later = CLOCK + timedelta(days=2)
    with open_store(workspace) as store:
        store.claim_due(later, worker="test", lease=LEASE, limit=5)  # one per channel: a first
        store.mark_failed(a, reason="401: bad token", now=later)
        store.claim_due(later, worker="test", lease=LEASE, limit=5)
        store.mark_unknown(b, reason="no answer from the server", now=later)
    planned_again = tagcast(workspace, "queue", "retry", a)
    assert planned_again.exit_code == 0, planned_again.output
    not_failed = tagcast(workspace, "queue", "retry", a)
    assert not_failed.exit_code == 1 and "only failed or unknown" in not_failed.stderr

    for flags in ([], ["--sent", "https://x.example/1", "--not-sent"]):
        usage = tagcast(workspace, "queue", "resolve", b, *flags)
        assert usage.exit_code == 2, flags
        assert "exactly one of --sent URL or --not-sent" in flat(usage.output)
    resolved = tagcast(workspace, "queue", "resolve", b, "--sent", "https://x.example/1")
    assert resolved.exit_code == 0, resolved.output
    with open_store(workspace) as store:
        retried, sent = store.get(a), store.get(b)
        assert (retried.state, retried.attempts) == (DeliveryState.PLANNED, 0)
        assert (sent.state, sent.remote_url) == (DeliveryState.SENT, "https://x.example/1")
        assert store.history(b)[-1].reason == "resolved by the operator: it was sent (https://x.example/1)"
    not_unknown = tagcast(workspace, "queue", "resolve", b, "--not-sent")
    assert not_unknown.exit_code == 1 and "only unknown or sending" in not_unknown.stderr


def test_resolve_not_sent_plans_it_again(workspace: Path) -> None:
    add(workspace)
    a = queued(workspace)["posts/a.md"]["id"]
    later = CLOCK + timedelta(days=2)
    with open_store(workspace) as store:
        store.claim_due(later, worker="test", lease=LEASE, limit=1)
        store.mark_unknown(a, reason="connection reset", now=later)
    result = tagcast(workspace, "queue", "resolve", a, "--not-sent")
    assert result.exit_code == 0, result.output
    with open_store(workspace) as store:
        assert store.get(a).state is DeliveryState.PLANNED


def test_pause_resume_and_status(workspace: Path) -> None:
    add(workspace)
    rows = queued(workspace)
    paused = tagcast(
        workspace, "queue", "pause", "file", "--until", "2030-01-01T12:00", "--reason", "holiday"
    )
    assert paused.exit_code == 0, paused.output
    with open_store(workspace) as store:
        pause = store.paused()["file"]
        assert (pause.reason, pause.until) == ("holiday", datetime(2030, 1, 1, 11, 0, tzinfo=UTC))
        store.claim_due(CLOCK + timedelta(days=1), worker="test", lease=LEASE, limit=5)  # paused: nothing
        assert {d.state for d in store.list()} == {DeliveryState.PLANNED}

    status = as_json(tagcast(workspace, "status", "--json"))
    file_channel = status["channels"]["file"]
    assert file_channel["counts"] == {"planned": 2}
    assert file_channel["next_due"] == rows["posts/a.md"]["scheduled_at"]
    assert file_channel["paused"] == {"until": "2030-01-01T12:00:00+01:00", "reason": "holiday"}
    assert status["channels"]["archive"]["enabled"] is False
    assert status["errors"] == []

    resumed = tagcast(workspace, "queue", "resume", "file")
    assert resumed.exit_code == 0 and "resumed file" in resumed.stdout
    assert "was not paused" in tagcast(workspace, "queue", "resume", "file").stderr
    unknown = tagcast(workspace, "queue", "pause", "nosuch")
    assert unknown.exit_code == 2 and "(channels: archive, broken, file)" in flat(unknown.stderr)

    a = rows["posts/a.md"]["id"]
    with open_store(workspace) as store:
        store.claim_due(CLOCK + timedelta(days=1), worker="test", lease=LEASE, limit=5)
        store.mark_failed(a, reason="403: suspended", now=CLOCK + timedelta(days=1))
    status = as_json(tagcast(workspace, "status", "--json"))
    assert status["channels"]["file"]["paused"] is None
    assert status["channels"]["file"]["counts"] == {"failed": 1, "planned": 1}
    assert status["errors"] == [
        {
            "id": a,
            "channel": "file",
            "source": "posts/a.md",
            "state": "failed",
            "reason": "failed: 403: suspended",
        }
    ]
    table = tagcast(workspace, "status")
    assert table.exit_code == 0 and "403: suspended" in table.stdout


def test_a_past_reschedule_time_means_now_and_is_never_missed_during_downtime(workspace: Path) -> None:
    add(workspace)
    b = queued(workspace)["posts/b.md"]["id"]
    later = (CLOCK + timedelta(hours=3)).isoformat()
    moved = tagcast(workspace, "queue", "reschedule", b, "--at", "2026-05-01T09:00", "--now", later)
    assert moved.exit_code == 0, moved.output
    assert f"planned for now: {b} (posts/b.md -> file)" in flat(moved.stdout)
    assert "tagcast serve --once" in flat(moved.stderr)
    with open_store(workspace) as store:
        delivery = store.get(b)
        assert delivery.scheduled_at == CLOCK + timedelta(hours=3)
        reason = store.history(b)[-1].reason
        # the misfire policy of `tagcast serve` sees a post due now, not one missed hours ago
        [claimed] = store.claim_due(CLOCK + timedelta(hours=3), worker="test", lease=LEASE, limit=5)
    assert claimed.id == b
    assert reason.endswith("to now (2026-05-01T07:00:00+00:00 is past)")


def test_send_now_plans_a_delivery_for_now(workspace: Path) -> None:
    add(workspace)
    a = queued(workspace)["posts/a.md"]["id"]
    sent = tagcast(workspace, "queue", "send-now", a, "--now", NOW)
    assert sent.exit_code == 0, sent.output
    assert f"planned for now: {a} (posts/a.md -> file)" in flat(sent.stdout)
    with open_store(workspace) as store:
        assert store.get(a).scheduled_at == CLOCK
        assert store.history(a)[-1].reason == "send now, asked by the operator (tagcast queue send-now)"
        store.claim_due(CLOCK, worker="test", lease=LEASE, limit=5)
        store.mark_sent(a, Receipt(remote_ids=("1",)), now=CLOCK)
    again = tagcast(workspace, "queue", "send-now", a, "--now", NOW)
    assert again.exit_code == 1 and "cannot reschedule delivery" in flat(again.stderr)
    missing = tagcast(workspace, "queue", "send-now", "d_nosuchthing")
    assert missing.exit_code == 1
    assert "send-now" in CliRunner().invoke(app, ["queue", "--help"]).stdout


def test_counts_are_in_the_right_number(workspace: Path) -> None:
    add(workspace)
    rows = queued(workspace)
    one = tagcast(workspace, "queue", "list", "--limit", "1")
    assert "1 delivery (from 1); next page: --offset 1" in flat(one.stdout)
    assert "2 deliveries (from 1)" in flat(tagcast(workspace, "queue", "list").stdout)
    assert "0 deliveries (from 0)" in flat(tagcast(workspace, "queue", "list", "--state", "sent").stdout)
    again = add(workspace)
    assert "0 unreadable articles" in flat(again.stdout)
    (workspace / "posts" / "bad.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    assert "1 unreadable article" in flat(add(workspace).stdout)
    assert rows


@pytest.mark.parametrize(
    "args",
    [
        ("queue", "pause", "fiel"),
        ("queue", "resume", "fiel"),
        ("queue", "list", "--channel", "fiel"),
        ("queue", "list", "--channel", "fiel", "--json"),
    ],
)
def test_an_unknown_channel_is_a_usage_error_with_did_you_mean_in_every_queue_command(
    workspace: Path, args: tuple[str, ...]
) -> None:
    add(workspace)
    result = tagcast(workspace, *args)
    assert result.exit_code == 2, result.output
    assert "config/tagcast.toml; did you mean 'file'? (channels: archive, broken, file)" in flat(
        result.stderr
    )
    assert "no channel named 'fiel' in " in flat(result.stderr) and result.stdout == ""


def test_a_channel_the_outbox_still_holds_can_be_listed_and_paused_after_it_left_the_config(
    workspace: Path,
) -> None:
    add(workspace)
    config = workspace / "config" / "tagcast.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace('[channels.file]\nnetwork = "file"', '[channels.file2]\nnetwork = "file"')
        .replace('channels = ["file"]', 'channels = ["file2"]')
        .replace('channels = ["file", "archive"]', 'channels = ["file2", "archive"]'),
        encoding="utf-8",
    )
    assert "[channels.file]\n" not in config.read_text(encoding="utf-8")
    listed = tagcast(workspace, "queue", "list", "--channel", "file", "--json")
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.stdout)) == 2
    assert tagcast(workspace, "queue", "pause", "file").exit_code == 0
    assert tagcast(workspace, "queue", "resume", "file").exit_code == 0


def test_help_says_what_json_prints() -> None:
    show = flat(CliRunner().invoke(app, ["queue", "show", "--help"]).stdout)
    assert "Print one JSON object for scripts." in show
    listing = flat(CliRunner().invoke(app, ["queue", "list", "--help"]).stdout)
    assert "Print one JSON array for scripts." in listing
    add_help = flat(CliRunner().invoke(app, ["queue", "add", "--help"]).stdout)
    assert "--backfill" in add_help and "--repost" in add_help
