"""The whole preview pipeline on a real workspace folder: load, route, render, fit, plan."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.adapters.registry import rules_for
from scheduler.config import load_workspace
from scheduler.errors import ConfigError
from scheduler.pipeline import Pipeline
from tests.conftest import WriteWorkspace

NOW = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # a Friday, two days before Europe/Berlin springs forward

CONFIG = """\
[defaults]
channels = ["file"]

[schedules.berlin]
timezone = "Europe/Berlin"
slots = ["daily 02:30", "daily 18:00"]

[channels.file]
network = "file"
schedule = "berlin"

[channels.x]
network = "x"
schedule = "berlin"
max_hashtags = 2

[channels.bsky]
network = "bluesky"
schedule = "berlin"
thread = true

[[rules]]
name = "history"
tags = ["History"]
channels = ["x", "bsky"]
"""

LONG = " ".join(f"Sentence number {n} tells a little more of the long story." for n in range(60))


def posts() -> dict[str, str]:
    return {
        "long.md": (
            "---\ntitle: A long story\nurl: https://example.org/long\ntags: [History, Maps, Rivers]\n"
            f"---\n{LONG}\n"
        ),
        "short.md": "---\ntitle: Short\n---\nA short note about #Cooking.\n",
        "fixed.md": (
            "---\ntitle: Fixed\ntags: [History]\npublish_at: 2026-04-01T10:00:00+02:00\n"
            "---\nAt a fixed time.\n"
        ),
        "broken.md": "---\ntitle: [unclosed\n---\nbody\n",
    }


def test_every_stage_in_one_run(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, posts())
    result = Pipeline(load_workspace(root)).run(now=NOW)

    assert [e.source for e in result.errors] == ["posts/broken.md"]
    error = result.errors[0]
    assert error.line == 2 or "starts on line 2" in str(error), "the unclosed '[' on line 2 is named"
    by_key = {(p.source, p.channel): p for p in result.posts}
    assert set(by_key) == {
        ("posts/long.md", "x"),
        ("posts/long.md", "bsky"),
        ("posts/short.md", "file"),
        ("posts/fixed.md", "x"),
        ("posts/fixed.md", "bsky"),
    }

    x_post = by_key[("posts/long.md", "x")]
    assert x_post.rule == "history"
    assert len(x_post.parts) == 1 and x_post.shortened
    assert x_post.lengths == (rules_for("x").count(x_post.parts[0]),)
    assert x_post.lengths[0] <= 280
    assert "https://example.org/long" in x_post.parts[0]
    assert "#History" in x_post.parts[0] and "#Rivers" not in x_post.parts[0], "max_hashtags = 2"

    thread = by_key[("posts/long.md", "bsky")]
    assert len(thread.parts) > 1
    assert all(rules_for("bluesky").fits(part) for part in thread.parts)
    assert all(length <= 300 for length in thread.lengths)

    assert by_key[("posts/short.md", "file")].rule == "default"
    assert all(post.problems == () for post in result.posts)


def test_slots_are_per_channel_and_dst_aware(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, posts())
    result = Pipeline(load_workspace(root)).run(now=NOW)
    by_key = {(p.source, p.channel): p for p in result.posts}
    berlin = ZoneInfo("Europe/Berlin")

    fixed = by_key[("posts/fixed.md", "x")].scheduled_at
    assert fixed == datetime(2026, 4, 1, 10, 0, tzinfo=berlin)
    assert by_key[("posts/fixed.md", "x")].slot_note == "publish_at"

    first = by_key[("posts/long.md", "x")].scheduled_at
    assert first == datetime(2026, 3, 27, 18, 0, tzinfo=berlin)
    file_post = by_key[("posts/short.md", "file")].scheduled_at
    assert file_post == datetime(2026, 3, 27, 18, 0, tzinfo=berlin), "another channel has its own slots"


def test_spring_forward_gap_slot_moves_to_three(make_workspace: WriteWorkspace) -> None:
    many = {f"p{n}.md": f"---\ntitle: P{n}\ntags: [History]\n---\nBody {n}.\n" for n in range(6)}
    root = make_workspace(CONFIG, many)
    result = Pipeline(load_workspace(root)).run(now=NOW, channels=["x"])
    times = [post.scheduled_at for post in result.posts]
    assert [t.astimezone(UTC) for t in times if t is not None] == [
        datetime(2026, 3, 27, 17, 0, tzinfo=UTC),
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 28, 17, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:30 does not exist that night: 03:00 CEST
        datetime(2026, 3, 29, 16, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


def test_taken_slots_are_skipped(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, {"a.md": "---\ntitle: A\ntags: [History]\n---\nBody.\n"})
    taken = {"x": [datetime(2026, 3, 27, 17, 0, tzinfo=UTC)]}
    result = Pipeline(load_workspace(root)).run(now=NOW, channels=["x"], taken=taken)
    assert result.posts[0].scheduled_at == datetime(2026, 3, 28, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))


def test_a_post_that_cannot_fit_is_a_problem_and_not_planned(make_workspace: WriteWorkspace) -> None:
    title = "Word " * 80
    root = make_workspace(CONFIG, {"huge.md": f"---\ntitle: {title}\ntags: [History]\n---\nBody.\n"})
    result = Pipeline(load_workspace(root)).run(now=NOW, channels=["x"])
    post = result.posts[0]
    assert post.problems and "280" in post.problems[0]
    assert post.scheduled_at is None
    assert not result.ok


def test_template_error_is_a_post_problem_naming_file_and_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.replace('network = "x"', 'network = "x"\ntemplate = "bad.j2"'), posts())
    (root / "config" / "templates").mkdir()
    (root / "config" / "templates" / "bad.j2").write_text(
        "{{ title }}\n{{ no_such_thing }}\n", encoding="utf-8"
    )
    result = Pipeline(load_workspace(root)).run(now=NOW, channels=["x"])
    problems = [problem for post in result.posts for problem in post.problems]
    assert problems and all("bad.j2" in p and "line 2" in p for p in problems)


def test_dangling_references_are_one_config_error(make_workspace: WriteWorkspace) -> None:
    bad = CONFIG.replace('channels = ["x", "bsky"]', 'channels = ["x", "mastodn"]').replace(
        'schedule = "berlin"\nthread', 'schedule = "berlim"\nthread'
    )
    root = make_workspace(bad + '\n[channels.odd]\nnetwork = "myspace"\n', posts())
    with pytest.raises(ConfigError) as caught:
        Pipeline(load_workspace(root))
    text = str(caught.value)
    assert "no channel named 'mastodn'" in text
    assert "no schedule named 'berlim'" in text
    assert "unknown network 'myspace'" in text and "installed adapters:" in text


def test_disabled_channel_is_previewed_but_inactive(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(
        CONFIG.replace('[channels.x]\nnetwork = "x"', '[channels.x]\nnetwork = "x"\nenabled = false'), posts()
    )
    result = Pipeline(load_workspace(root)).run(now=NOW, channels=["x"])
    assert result.posts and all(not post.active for post in result.posts)
    assert all("never queued" in (post.slot_note or "") for post in result.posts)


def test_same_input_same_output(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(
        CONFIG.replace('slots = ["daily 02:30", "daily 18:00"]', 'slots = ["daily 09:00"]\njitter = "20m"'),
        posts(),
    )
    first = Pipeline(load_workspace(root)).run(now=NOW)
    second = Pipeline(load_workspace(root)).run(now=NOW)
    assert [p.to_json() for p in first.posts] == [p.to_json() for p in second.posts]
