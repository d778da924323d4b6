"""The CLI's own surface: --version, help texts that say all they mean, tables that stay whole when piped, and
colour only on a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from scheduler import __version__
from scheduler.cli.app import app

BOX = re.compile(r"[│╭╮╰╯─┃━╇┡┩]+")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=80)
    return result.exit_code, result.stdout


def every_command() -> list[list[str]]:
    """The path of every command and group, the root first."""
    paths: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


def flat_help(path: list[str]) -> str:
    """The help of a command as one line: boxes, line breaks and runs of spaces gone."""
    code, out = run(*path, "--help")
    assert code == 0, path
    return " ".join(BOX.sub(" ", out).split())


def test_version() -> None:
    assert run("--version") == (0, f"tagcast {__version__}\n")
    assert run("-V") == (0, f"tagcast {__version__}\n")


def test_no_help_text_loses_words() -> None:
    helps = {" ".join(path): flat_help(path) for path in every_command()}
    assert len(helps) > 25
    for name, text in helps.items():
        assert not re.search(r" [.,;:](?:\s|$)", text), f"`tagcast {name} --help` lost text: {text}"
    assert "The channel to test, as named in [channels.NAME]." in helps["channels test"]
    assert "Article files or folders [default: the workspace's posts/ folder]." in helps["preview"]
    assert (
        "tagcast.toml or workspace folder [default: $TAGCAST_CONFIG, else config/tagcast.toml found"
        in (helps["status"])
    )
    # a docstring's hard line breaks are re-flowed, not kept as ragged lines
    _, out = run("store", "copy", "--help")
    assert any("must be empty unless --force;" in line for line in out.splitlines()), out


def test_json_is_described_as_what_it_prints() -> None:
    for obj in (["status"], ["queue", "show"]):
        assert "--json <bool> Print one JSON object for scripts." in flat_help(obj), obj
    assert "--json <bool> Print one JSON object for scripts (with --sources: one array" in flat_help(
        ["config", "show"]
    )
    assert "--json <bool> Print the value as JSON, whatever its type." in flat_help(["config", "get"])
    for listing in (["preview"], ["check"], ["channels", "list"], ["queue", "list"]):
        assert "--json <bool> Print one JSON array for scripts." in flat_help(listing), listing


CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[channels.a_rather_long_channel_name_for_tables]
network = "file"

[defaults]
channels = ["a_rather_long_channel_name_for_tables"]
"""


def piped_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    for number in range(3):
        (root / "posts" / f"an-article-with-a-rather-long-file-name-number-{number}.md").write_text(
            f"---\ntitle: Post {number}\n---\nBody number {number}.\n", encoding="utf-8"
        )
    return root


def tagcast(root: Path, *args: str) -> str:
    """Run tagcast in a real process with its stdout piped, as a script would (COLUMNS says 80)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAGCAST_", "FORCE_COLOR", "NO_COLOR"))}
    env["COLUMNS"] = "80"
    done = subprocess.run(
        [sys.executable, "-m", "scheduler", *args, "--config", str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout + done.stderr, "no colour when not on a terminal"
    return done.stdout


def test_piped_tables_keep_every_row_on_one_line(tmp_path: Path) -> None:
    root = piped_workspace(tmp_path)
    added = tagcast(root, "queue", "add", "--now", "2026-06-01T08:00:00+00:00")
    deliveries = json.loads(tagcast(root, "queue", "list", "--json"))
    assert len(deliveries) == 3
    listed = tagcast(root, "queue", "list").splitlines()
    for delivery in deliveries:
        (row,) = [line for line in listed if delivery["id"] in line]
        assert delivery["source"] in row
        assert "a_rather_long_channel_name_for_tables" in row
        assert any(delivery["id"] in line and delivery["source"] in line for line in added.splitlines())
    assert listed[-1] == "3 deliveries (from 1)"
    status = tagcast(root, "status").splitlines()
    assert any(
        line.split()[:5] == ["a_rather_long_channel_name_for_tables", "│", "file", "│", "3"]
        for line in status
    )
    channels = tagcast(root, "channels", "list").splitlines()
    assert channels[1].split() == [
        "a_rather_long_channel_name_for_tables",
        "file",
        "scheduler.adapters.file:FileAdapter",
        "default",
        "yes",
    ]
    one = tagcast(root, "queue", "list", "--limit", "1").splitlines()
    assert one[-1] == "1 delivery (from 1); next page: --offset 1"
