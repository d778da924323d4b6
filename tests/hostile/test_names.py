"""Names from files cannot forge log lines or reach the terminal as escape sequences.

Articles named ``a<newline>INFO forged.md``, ``<ESC>[31mred.md`` and ``[bold]b.md``, one with a title holding
an ESC and a bidi override, go through ``tagcast serve --once`` (text and JSON logs) and through ``preview``,
``queue add``, ``queue list`` and ``queue show`` (what a person sees), each a real child process.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from service.conftest import DUE

from scheduler.safe_text import markup, on_terminal, shown
from scheduler.service.logs import JsonFormatter, TextFormatter

CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[defaults]
channels = ["file"]

[channels.file]
network = "file"
"""

ARTICLE = """\
---
title: {title}
url: https://example.org/{slug}
tags: [History]
publish_at: {due}
---

A body.
"""

NAMES = {
    "a\nINFO forged.md": ('"Forged"', "forged"),
    "\x1b[31mred.md": ('"\\e[31mRed \\u202e title"', "red"),
    "[bold]b.md": ('"[bold]Bold"', "bold"),
}
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    for name, (title, slug) in NAMES.items():
        (root / "posts" / name).write_text(ARTICLE.format(title=title, slug=slug, due=DUE), encoding="utf-8")
    return root


def tagcast(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A real ``tagcast`` process on a wide terminal (no table cell folded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args, "--config", str(root)],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )


def serve_once(root: Path, *args: str) -> str:
    done = tagcast(root, "serve", "--once", *args)
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_text_logs_have_one_line_per_record_and_no_escape_sequences(root: Path) -> None:
    log = serve_once(root)
    assert "\x1b" not in log and "\u202e" not in log
    lines = log.splitlines()
    first = next(i for i, line in enumerate(lines) if RECORD.match(line))  # after the banner
    assert all(RECORD.match(line) or line.startswith("  ") for line in lines[first:]), log
    assert not any(line.startswith("INFO forged") for line in lines)
    sent = [line for line in lines if ": sent" in line]
    assert len(sent) == 3, log
    assert any("posts/a\\nINFO forged.md" in line for line in sent)
    assert any("posts/\\x1b[31mred.md" in line for line in sent)
    assert len(list((root / "var" / "outbox" / "file").glob("*.txt"))) == 3


def test_json_logs_encode_the_names(root: Path) -> None:
    log = serve_once(root, "--log-format", "json")
    assert "\x1b" not in log and "\u202e" not in log
    records = [json.loads(line) for line in log.splitlines()]
    sources = {r["source"] for r in records if r.get("event") == "delivery.sent"}
    assert sources == {f"posts/{name}" for name in NAMES}


def invoke(root: Path, *args: str) -> tuple[int, str]:
    done = tagcast(root, *args)
    return done.returncode, done.stdout + done.stderr


def test_what_a_person_sees_has_no_escape_sequence_and_no_markup_from_names(root: Path) -> None:
    code, preview = invoke(root, "preview")
    assert code == 0, preview
    code, added = invoke(root, "queue", "add")
    assert code == 0, added
    code, listed = invoke(root, "queue", "list")
    assert code == 0, listed
    for output in (preview, added, listed):
        assert "\x1b" not in output and "\u202e" not in output
        assert "posts/[bold]b.md" in output  # printed as written, not applied
        assert not any(line.startswith("INFO forged") for line in output.splitlines())
    assert "posts/\\x1b[31mred.md" in listed
    ids = re.findall(r"d_[0-9a-z]{10}", listed)
    assert len(set(ids)) == 3
    for delivery_id in set(ids):
        code, detail = invoke(root, "queue", "show", delivery_id)
        assert code == 0 and "\x1b" not in detail and "\u202e" not in detail
    code, raw = invoke(root, "queue", "list", "--json")
    assert code == 0 and {d["source"] for d in json.loads(raw)} == {f"posts/{name}" for name in NAMES}


def test_an_unreadable_article_named_with_a_newline_is_reported_on_one_line(root: Path) -> None:
    (root / "posts" / "broken\nERROR forged.md").write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    code, output = invoke(root, "queue", "add")
    assert code == 1
    assert "posts/broken\\nERROR forged.md" in output
    assert not any(line.startswith("ERROR forged") for line in output.splitlines())


def test_the_one_helper() -> None:
    assert shown("a\nb\rc\td\x1be\x9bf\u202eg\u2028h\x7f") == "a\\nb\\rc\\td\\x1be\\x9bf\\u202eg\\u2028h\\x7f"
    assert shown("Zürich 🚀 ok") == "Zürich 🚀 ok"
    assert markup("[bold]x\x1b") == "\\[bold]x\\x1b"
    assert on_terminal("two\nlines\x1b") == "two\nlines\\x1b"


def record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("tagcast.service", logging.WARNING, __file__, 1, message, args, exc_info)


def test_the_text_formatter_keeps_a_traceback_indented_under_its_record() -> None:
    try:
        raise OSError("cannot read posts/a\nERROR forged.md\x1b[2J")
    except OSError as caught:
        exc = caught
    text = TextFormatter().format(record("article skipped: %s", "posts/b\rINFO x.md\u202e", exc=exc))
    first, *rest = text.split("\n")
    assert RECORD.match(first) and first.endswith("article skipped: posts/b\\rINFO x.md\\u202e")
    assert rest and all(line.startswith("  ") for line in rest)
    assert "\x1b" not in text and "ERROR forged.md\\x1b[2J" in rest[-1]


def test_the_json_formatter_escapes_what_json_leaves_alone() -> None:
    line = JsonFormatter().format(record("sent %s", "posts/\x9b31mx\u202e\u2028.md"))
    assert "\x9b" not in line and "\u202e" not in line and "\u2028" not in line
    assert json.loads(line)["message"] == "sent posts/\x9b31mx\u202e\u2028.md"
