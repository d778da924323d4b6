"""``tagcast queue list`` and ``queue show`` show each part of a queued post against its own limit, as
``preview`` does: the first part of a Telegram post with an image (a photo's caption) against 1024, its later
parts against 4096; a Mastodon post as before. Through the full typer commands and the quick ones
(``scheduler/cli/quick.py``, what the ``tagcast`` script runs), on a real workspace and SQLite outbox."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from caption_workspace import CAPTION, MESSAGE, TOOT, write_caption_workspace
from typer.testing import CliRunner, Result

from scheduler.cli import quick
from scheduler.cli.app import app

NOW = "2026-06-01T08:00:00+00:00"


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def quick_tagcast(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """What the quick command prints (it must take the call, and succeed)."""
    assert quick.run([*args, "--config", str(root)]) == 0
    return capsys.readouterr().out


def flat(text: str) -> str:
    """Terminal output without rich's box drawing and line wrapping, for ``in`` checks."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def listed(root: Path) -> dict[str, dict[str, Any]]:
    """``queue list --json`` by channel."""
    result = tagcast(root, "queue", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["channel"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = write_caption_workspace(tmp_path / "ws")
    added = tagcast(root, "queue", "add", "--now", NOW)
    assert added.exit_code == 0, added.output
    return root


def test_queue_list_json_has_the_limit_of_each_part_as_preview_has(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    preview = tagcast(workspace, "preview", "--json", "--now", NOW)
    assert preview.exit_code == 0, preview.output
    previewed = {post["channel"]: post for post in json.loads(preview.stdout)}
    rows = listed(workspace)
    tg, masto = rows["tg"], rows["masto"]
    assert tg["limits"] == [CAPTION, MESSAGE, MESSAGE] and tg["limit"] == MESSAGE
    assert tg["lengths"][0] <= CAPTION < tg["lengths"][1] <= MESSAGE, "only the caption is held to 1024"
    assert masto["limits"] == [TOOT] and masto["limit"] == TOOT
    for channel, row in rows.items():
        shown = previewed[channel]
        assert (row["parts"], row["lengths"], row["limits"]) == (
            shown["parts"],
            shown["lengths"],
            shown["limits"],
        )
    fast = json.loads(quick_tagcast(workspace, capsys, "queue", "list", "--json"))
    assert [row["limits"] for row in fast] == [row["limits"] for row in rows.values()]


def test_queue_show_shows_each_part_against_its_own_limit(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tg = listed(workspace)["tg"]
    detail = tagcast(workspace, "queue", "show", tg["id"], "--json")
    assert detail.exit_code == 0, detail.output
    assert json.loads(detail.stdout)["limits"] == [CAPTION, MESSAGE, MESSAGE]

    shown = tagcast(workspace, "queue", "show", tg["id"])
    assert shown.exit_code == 0, shown.output
    first, second, third = tg["lengths"]
    expected = [f"part 1: {first}/1024 utf16", f"part 2: {second}/4096 utf16", f"part 3: {third}/4096 utf16"]
    for line in expected:
        assert line in flat(shown.stdout)
    assert f"{first}/4096" not in flat(shown.stdout)
    assert quick_tagcast(workspace, capsys, "queue", "show", tg["id"]) == shown.stdout


def test_a_mastodon_post_is_shown_against_its_one_limit(workspace: Path) -> None:
    masto = listed(workspace)["masto"]
    shown = tagcast(workspace, "queue", "show", masto["id"])
    assert shown.exit_code == 0, shown.output
    [length] = masto["lengths"]
    assert f"part 1: {length}/500 {masto['unit']}" in flat(shown.stdout)


def test_a_post_queued_before_the_first_limit_was_stored_gets_it_when_queued_again(
    workspace: Path,
) -> None:
    """A row of schema version 7 has no first limit (every part against ``limit``, as it was shown then);
    ``queue add`` of the unchanged article fills it in, without a transition: the text did not change."""
    tg = listed(workspace)["tg"]
    database = workspace / "var" / "tagcast.db"
    with closing(sqlite3.connect(database)) as raw, raw:
        raw.execute("UPDATE deliveries SET first_limit = NULL")
    assert listed(workspace)["tg"]["limits"] == [MESSAGE, MESSAGE, MESSAGE]
    history = json.loads(tagcast(workspace, "queue", "show", tg["id"], "--json").stdout)["history"]

    again = tagcast(workspace, "queue", "add", "--now", NOW, "--json")
    assert again.exit_code == 0, again.output
    assert {item["outcome"] for item in json.loads(again.stdout)} == {"unchanged"}
    after = json.loads(tagcast(workspace, "queue", "show", tg["id"], "--json").stdout)
    assert after["limits"] == [CAPTION, MESSAGE, MESSAGE]
    assert (after["id"], after["parts"], after["history"]) == (tg["id"], tg["parts"], history)
    assert listed(workspace)["masto"]["limits"] == [TOOT]
