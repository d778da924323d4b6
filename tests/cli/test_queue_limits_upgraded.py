"""An outbox of schema version 7 (before ``deliveries.first_limit``) upgraded: a Telegram post with an image,
sent or not, shows its first part (a photo's caption) against 1024, as it was queued under, not 4096; a
Telegram post without an image and a Mastodon post show their one limit. In ``queue list --json``,
``queue show`` (text and ``--json``) and the quick commands (once the full one upgraded the file); a real
workspace and SQLite file."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from caption_workspace import CAPTION, MESSAGE, TOOT, write_version_7_outbox
from typer.testing import CliRunner, Result

from scheduler.cli import quick
from scheduler.cli.app import app


def tagcast(root: Path, *args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--config", str(root)])


def flat(text: str) -> str:
    """Terminal output without rich's box drawing and line wrapping, for ``in`` checks."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def listed(root: Path) -> dict[str, dict[str, Any]]:
    """``queue list --json`` by channel."""
    result = tagcast(root, "queue", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["channel"]: row for row in json.loads(result.stdout)}


def version(root: Path) -> int:
    with closing(sqlite3.connect(root / "var" / "tagcast.db")) as raw:
        return int(raw.execute("SELECT version FROM schema_version").fetchone()[0])


def test_an_upgraded_outbox_shows_a_telegram_caption_against_1024(tmp_path: Path) -> None:
    root = write_version_7_outbox(tmp_path / "ws")
    assert version(root) == 7
    rows = listed(root)  # opening the outbox upgrades it
    assert version(root) >= 8
    tg, tg2, masto = rows["tg"], rows["tg2"], rows["masto"]
    assert tg["state"] == "sent" and len(tg["parts"]) == 3
    assert tg["limits"] == [CAPTION, MESSAGE, MESSAGE] and tg["limit"] == MESSAGE
    assert tg2["limits"] == [MESSAGE] and masto["limits"] == [TOOT]

    detail = tagcast(root, "queue", "show", tg["id"], "--json")
    assert detail.exit_code == 0, detail.output
    assert json.loads(detail.stdout)["limits"] == [CAPTION, MESSAGE, MESSAGE]
    shown = tagcast(root, "queue", "show", tg["id"])
    assert shown.exit_code == 0, shown.output
    first, second, third = tg["lengths"]
    for line in (
        f"part 1: {first}/1024 utf16",
        f"part 2: {second}/4096 utf16",
        f"part 3: {third}/4096 utf16",
    ):
        assert line in flat(shown.stdout)
    assert f"{first}/4096" not in flat(shown.stdout)

    plain = tagcast(root, "queue", "show", tg2["id"], "--json")
    assert plain.exit_code == 0, plain.output
    assert json.loads(plain.stdout)["limits"] == [MESSAGE]
    [length] = tg2["lengths"]
    assert f"part 1: {length}/4096 utf16" in flat(tagcast(root, "queue", "show", tg2["id"]).stdout)


def test_the_quick_commands_leave_the_upgrade_to_the_full_one_then_show_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_version_7_outbox(tmp_path / "ws")
    assert quick.run(["queue", "list", "--json", "--config", str(root)]) is None
    assert version(root) == 7, "the quick command does not upgrade an outbox"
    full = {channel: row["limits"] for channel, row in listed(root).items()}
    assert quick.run(["queue", "list", "--json", "--config", str(root)]) == 0
    fast = {row["channel"]: row["limits"] for row in json.loads(capsys.readouterr().out)}
    assert fast == full == {"tg": [CAPTION, MESSAGE, MESSAGE], "tg2": [MESSAGE], "masto": [TOOT]}


def test_an_outbox_upgraded_to_8_without_its_first_limits_gets_them_at_9(tmp_path: Path) -> None:
    """An earlier tagcast's version 8 added the column but left the rows queued before it NULL: version 9
    fills them in, as version 8 does now."""
    root = write_version_7_outbox(tmp_path / "ws")
    listed(root)  # upgraded to the latest version
    with closing(sqlite3.connect(root / "var" / "tagcast.db")) as raw, raw:
        raw.execute("UPDATE deliveries SET first_limit = NULL")
        raw.execute("UPDATE schema_version SET version = 8")
    assert version(root) == 8

    rows = listed(root)

    assert version(root) > 8
    limits = {channel: row["limits"] for channel, row in rows.items()}
    assert limits == {"tg": [CAPTION, MESSAGE, MESSAGE], "tg2": [MESSAGE], "masto": [TOOT]}
