"""The quick queue commands (``scheduler/cli/quick.py``) print, change and exit exactly as the full typer
commands do, leave every call they are not sure of to them, and import neither typer, pydantic nor
SQLAlchemy. Real workspaces and SQLite files in tmp_path; the full command runs through CliRunner."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from daily_workspace import DAILY_CONFIG
from typer.testing import CliRunner

from scheduler.cli import quick
from scheduler.cli.app import app
from scheduler.config.models import StoreSettings
from scheduler.config.settings import CONFIG_VERSION
from scheduler.store import Store

NOW = "2026-06-01T08:00:00+00:00"
LATER = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
TEMPLATE = "{{ title }}\n\n{{ body }}\n{% for tag in tags %}{{ tag }} {% endfor %}"


def article(title: str) -> str:
    slug = title.lower().replace(" ", "-")
    front = f"title: {title}\nurl: https://example.org/{slug}\ntags: [History]"
    return f"---\n{front}\n---\n\nThe body of {title}.\n"


@pytest.fixture(scope="module")
def template_workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A workspace with four queued articles: planned ones, a failed one; and their ids by role."""
    root = tmp_path_factory.mktemp("quick") / "ws"
    (root / "config" / "templates").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(DAILY_CONFIG, encoding="utf-8")
    (root / "config" / "templates" / "post.j2").write_text(TEMPLATE, encoding="utf-8")
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        (root / "posts" / f"{name.lower()}.md").write_text(article(f"{name} story"), encoding="utf-8")
    added = CliRunner().invoke(app, ["queue", "add", "--now", NOW, "--config", str(root)])
    assert added.exit_code == 0, added.output
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        first, *rest = store.list()
        store.claim_due(first.scheduled_at, worker="test", lease=LEASE, limit=1)
        store.mark_failed(first.id, reason="401: bad token", now=first.scheduled_at)
    return root, {"failed": first.id, "planned": rest[0].id, "other": rest[1].id}


def copy_of(template: Path, where: Path) -> Path:
    shutil.copytree(template, where)
    return where


def stamped(value: Any, since: datetime) -> Any:
    """``<now>`` for a stored time of this test run (an action stamps them with the clock, and the quick and
    the full command do not run at one moment); any other value as it is."""
    is_time = isinstance(value, str) and len(value) == 26 and value[4] == "-" and value[10] == " "
    if is_time and datetime.fromisoformat(value).replace(tzinfo=UTC) >= since:
        return "<now>"
    return value


def dump(root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the outbox, with the times of this test run as ``<now>``."""
    since = datetime.now(UTC) - timedelta(hours=1)
    with sqlite3.connect(root / "var" / "tagcast.db") as raw:
        out = {
            table: [tuple(stamped(v, since) for v in row) for row in raw.execute(f"SELECT * FROM {table}")]
            for table in ("deliveries", "transitions", "channel_pauses")
        }
    raw.close()
    return out


CALLS = [
    ["queue", "list"],
    ["queue", "list", "--json"],
    ["queue", "list", "--state", "planned", "-C", "file", "--limit", "2", "--offset", "1"],
    ["queue", "list", "-s", "failed", "-s", "planned", "--json", "-n", "3"],
    ["queue", "list", "--limit=1", "--channel=file"],
    ["queue", "show", "{planned}"],
    ["queue", "show", "--json", "{failed}"],
    ["queue", "show", "d_nosuchthing"],
    ["queue", "cancel", "{planned}"],
    ["queue", "cancel", "d_nosuchthing"],
    ["queue", "reschedule", "{planned}", "--at", "2030-01-01T09:00"],
    ["queue", "reschedule", "{other}", "--at=2030-01-01T09:00+05:00"],
    ["queue", "reschedule", "{planned}", "--at", "2020-01-01T09:00"],
    ["queue", "retry", "{failed}"],
    ["queue", "retry", "{planned}"],
]


@pytest.mark.parametrize("call", CALLS, ids=" ".join)
def test_a_quick_command_does_what_the_full_one_does(
    call: list[str],
    template_workspace: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template, ids = template_workspace
    argv = [word.format(**ids) for word in call]
    fast, full = copy_of(template, tmp_path / "fast"), copy_of(template, tmp_path / "full")

    code = quick.run([*argv, "--config", str(fast)])
    printed = capsys.readouterr()
    result = CliRunner().invoke(app, [*argv, "--config", str(full)])

    assert code is not None, "the quick command left this call to the full one"
    assert (code, printed.out, printed.err) == (result.exit_code, result.stdout, result.stderr)
    assert dump(fast) == dump(full)
    if "retry" in argv and "{failed}" in call:
        assert "planned again now:" in printed.out  # the action did happen, in both


LEFT_TO_THE_FULL_COMMAND = [
    ["queue", "list", "--help"],
    ["queue", "list", "--now", NOW],
    ["queue", "list", "--state", "bogus"],
    ["queue", "list", "--limit", "0"],
    ["queue", "list", "--limit", "many"],
    ["queue", "list", "-n5"],
    ["queue", "list", "--json", "--json"],
    ["queue", "list", "--limit", "1", "--limit", "2"],
    ["queue", "list", "--channel", "archive"],  # not in the outbox: the config decides
    ["queue", "list", "--", "x"],
    ["queue", "list", "extra"],
    ["queue", "show"],
    ["queue", "show", "{planned}", "{failed}"],
    ["queue", "show", "-x"],
    ["queue", "cancel", "{planned}", "--json"],
    ["queue", "reschedule", "{planned}"],
    ["queue", "reschedule", "{planned}", "--at", "tomorrow"],
    ["queue", "reschedule", "{planned}", "--at", "2030-01-01T09:00", "--now", NOW],
    ["queue", "retry", "--channel", "file", "{failed}"],
    ["queue", "add"],
    ["queue", "send-now", "{planned}"],
    ["queue", "pause", "file"],
    ["queue"],
    ["--version"],
    ["status"],
]


@pytest.mark.parametrize("call", LEFT_TO_THE_FULL_COMMAND, ids=" ".join)
def test_an_unusual_call_is_left_to_the_full_command_untouched(
    call: list[str],
    template_workspace: tuple[Path, dict[str, str]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    template, ids = template_workspace
    root = copy_of(template, tmp_path / "ws")
    before = dump(root)
    assert quick.run([*(word.format(**ids) for word in call), "--config", str(root)]) is None
    assert capsys.readouterr() == ("", "")
    assert dump(root) == before


def with_config(root: Path, old: str, new: str) -> None:
    path = root / "config" / "tagcast.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_a_store_the_quick_commands_cannot_open_as_the_store_would_is_left_to_it(
    template_workspace: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template, _ = template_workspace
    listing = ["queue", "list", "--config"]
    elsewhere = copy_of(template, tmp_path / "env")
    monkeypatch.setenv("TAGCAST_STORE__URL", "sqlite:///other.db")
    assert quick.run([*listing, str(elsewhere)]) is None
    monkeypatch.delenv("TAGCAST_STORE__URL")
    (elsewhere / ".env").write_text("tagcast_store__url=sqlite:///other.db\n", encoding="utf-8")
    assert quick.run([*listing, str(elsewhere)]) is None

    for name, url in [("pg", "postgresql+psycopg://u@localhost/db"), ("mem", "sqlite:///:memory:")]:
        root = copy_of(template, tmp_path / name)
        with_config(root, 'url = "sqlite:///var/tagcast.db"', f'url = "{url}"')
        assert quick.run([*listing, str(root)]) is None
    fresh = copy_of(template, tmp_path / "fresh")
    shutil.rmtree(fresh / "var")
    assert quick.run([*listing, str(fresh)]) is None
    assert not (fresh / "var").exists()  # the Store creates it, the full command reports
    broken = copy_of(template, tmp_path / "broken")
    with_config(broken, "[store]", "[store")
    assert quick.run([*listing, str(broken)]) is None
    newer = copy_of(template, tmp_path / "newer")
    with_config(newer, "version = 1", "version = 2")
    assert quick.run([*listing, str(newer)]) is None
    assert quick.run([*listing, str(tmp_path / "nowhere")]) is None


def test_a_store_url_elsewhere_is_found_as_the_store_finds_it(
    template_workspace: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template, ids = template_workspace
    root = copy_of(template, tmp_path / "ws")
    outside = tmp_path / "data" / "outbox.db"
    outside.parent.mkdir()
    shutil.move(root / "var" / "tagcast.db", outside)
    with_config(root, 'url = "sqlite:///var/tagcast.db"', f'url = "sqlite:///{outside}"')
    assert quick.run(["queue", "show", ids["failed"], "--json", "--config", str(root)]) == 0
    assert '"last_error": "401: bad token"' in capsys.readouterr().out
    without = copy_of(root, tmp_path / "default")
    with_config(without, f'[store]\nurl = "sqlite:///{outside}"\n', "")
    (without / "var").mkdir(exist_ok=True)
    shutil.copy(outside, without / "var" / "tagcast.db")
    assert quick.run(["queue", "list", "--json", "--config", str(without)]) == 0
    assert ids["failed"] in capsys.readouterr().out


def test_the_default_store_url_and_the_config_version_are_the_config_s() -> None:
    assert StoreSettings.model_fields["url"].default == quick.DEFAULT_STORE_URL
    assert quick.CONFIG_VERSION == CONFIG_VERSION


REPORT_MODULES = """
import sys
from scheduler.cli.main import main
sys.argv = ["tagcast", *sys.argv[1:]]
try:
    main()
finally:
    heavy = ("typer", "pydantic", "pydantic_settings", "sqlalchemy", "jinja2", "httpx", "rich", "regex")
    print("loaded:", *sorted(name for name in heavy if name in sys.modules), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("call", "code", "loaded"),
    [
        (["queue", "list"], 0, "rich"),
        (["queue", "list", "--json"], 0, ""),
        (["queue", "show", "{failed}", "--json"], 0, ""),
        (["queue", "reschedule", "{planned}", "--at", "2030-01-01T09:00"], 0, "rich"),
        (["queue", "cancel", "{other}"], 0, "rich"),
        (["queue", "retry", "{other}"], 1, "rich"),
        # the full command: the config knows whether the channel exists
        (
            ["queue", "list", "--channel", "nosuch"],
            2,
            "pydantic pydantic_settings regex rich sqlalchemy typer",
        ),
    ],
)
def test_the_tagcast_program_imports_only_what_a_quick_command_needs(
    call: list[str], code: int, loaded: str, template_workspace: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    template, ids = template_workspace
    root = copy_of(template, tmp_path / "ws")
    argv = [word.format(**ids) for word in call]
    done = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES, *argv], cwd=root, capture_output=True, text=True, check=False
    )
    assert done.returncode == code, done.stderr
    assert done.stderr.splitlines()[-1] == f"loaded: {loaded}".strip()
