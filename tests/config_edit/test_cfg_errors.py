"""Every refused change says why and what is allowed, and leaves the file exactly as it was."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.config_edit.sample import COMMENTED, Invoke


@pytest.fixture
def unchanged(config_file: Path) -> Iterator[None]:
    """Assert after the test that the config file has the same bytes and modification time."""
    old_time = config_file.stat().st_mtime_ns - 10_000_000_000
    os.utime(config_file, ns=(old_time, old_time))
    yield
    assert config_file.read_bytes() == COMMENTED.encode()
    assert config_file.stat().st_mtime_ns == old_time
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["tagcast.toml"], (
        "no temporary file is left"
    )


REFUSED_SETS = [
    # (key, value, words the error must contain)
    (
        "channels.bsky.shedule",
        "daily",
        ["unknown key 'shedule' in channels.bsky", "did you mean 'schedule'?"],
    ),
    ("chanels.bsky.handle", "x", ["unknown key 'chanels' at the top level", "did you mean 'channels'?"]),
    ("service.max_atempts", "3", ["did you mean 'max_attempts'?"]),
    ("channels.bsky.max_hashtags", "many", ["'many' is not a whole number", "allowed: a whole number >= 0"]),
    ("service.max_attempts", "0", ["greater than or equal to 1", "allowed: a whole number >= 1"]),
    ("channels.bsky.thread", "maybe", ["'maybe' is not true or false"]),
    ("schedules.daily.min_gap", "soon", ["'soon' is not a duration", "'30m'"]),
    ("schedules.daily.quiet_dates", "tomorrow", ["'tomorrow' is not a date", "2026-12-25"]),
    ("rules.0.channels", "[]", ["at least 1 item"]),
    (
        "rules.0.channels",
        "file, ghost",
        ["no channel named 'ghost'", "config/tagcast.toml:", "add [channels.ghost]"],
    ),
    ("channels.bsky.schedule", "hourly", ["no schedule named 'hourly'", "add [schedules.hourly]"]),
    ("channels.bsky.template", "nope.j2", ["no template 'nope.j2'"]),
    ("channels.bsky.network", "myspace", ["unknown network 'myspace'", "installed adapters:"]),
    ("schedules.daily.timezone", "Mars/Olympus", ["schedules.daily", "Mars/Olympus"]),
    ("schedules.daily.slots", "sometime", ["invalid slot 'sometime'", "accepted forms"]),
    ("defaults.channels", "nowhere", ["defaults.channels", "no channel named 'nowhere'"]),
    ("rules.7.priority", "1", ["rules.7", "there are 2 entries"]),
    ("channels.bsky", "x", ["channels.bsky is a table", "tagcast config set channels.bsky.network VALUE"]),
    ("rules", "x", ["rules is a table"]),
    ("channels.bsky.handle.x", "y", ["channels.bsky.handle is a single value"]),
    ("a..b", "y", ["'a..b' is not a key"]),
]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("key", "value", "words"), REFUSED_SETS, ids=[f"{c[0]}={c[1]}" for c in REFUSED_SETS]
)
def test_refused_set(tagcast: Invoke, key: str, value: str, words: list[str]) -> None:
    result = tagcast("config", "set", key, value)
    assert result.exit_code == 1, result.output
    for word in words:
        assert word in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("key", ["token", "password", "api_key", "bot_token", "webhook_url", "secret"])
def test_secret_is_refused_with_a_hint(tagcast: Invoke, key: str) -> None:
    result = tagcast("config", "set", f"channels.bsky.{key}", "hunter2-secret")
    assert result.exit_code == 1
    assert f"channels.bsky.{key} is a secret" in result.stderr
    assert f"TAGCAST_CHANNELS__BSKY__{key.upper()}" in result.stderr
    assert ".env" in result.stderr
    assert f"channels.bsky.{key}_file" in result.stderr
    assert "hunter2-secret" not in result.output + result.stderr


def test_secret_file_key_is_settable_and_checked(tagcast: Invoke, workspace: Path) -> None:
    missing = tagcast("config", "set", "channels.bsky.password_file", "secrets/bsky")
    assert missing.exit_code == 1
    assert "cannot read" in missing.stderr
    assert "TAGCAST_CHANNELS__BSKY__PASSWORD" in missing.stderr
    (workspace / "secrets").mkdir()
    (workspace / "secrets" / "bsky").write_text("app-password\n", encoding="utf-8")
    assert tagcast("config", "set", "channels.bsky.password_file", "secrets/bsky").exit_code == 0


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("channels.bsky", ["no channel named 'bsky'"]),
        ("rules.0.channels", ["rules.0.channels", "required key is missing"]),
        ("channels.bsky.network", ["channels.bsky.network", "required key is missing"]),
        ("channels.bsky.limit", ["channels.bsky.limit is not set", "nothing to unset"]),
        ("channels.ghost", ["channels.ghost is not set"]),
        ("channels.bsky.limt", ["did you mean 'limit'?"]),
    ],
)
def test_refused_unset(tagcast: Invoke, key: str, words: list[str]) -> None:
    result = tagcast("config", "unset", key)
    assert result.exit_code == 1
    for word in words:
        assert word in result.stderr


def test_refusal_says_which_problems_were_there_before(tagcast: Invoke, config_file: Path) -> None:
    broken = COMMENTED.replace('network = "file"   # local folder', 'network = "file"\ntemplate = "gone.j2"')
    config_file.write_text(broken, encoding="utf-8")
    result = tagcast("config", "set", "channels.bsky.max_hashtags", "4")
    assert result.exit_code == 1
    assert "no template 'gone.j2'" in result.stderr
    assert "1 of these problems were there before" in result.stderr
    assert config_file.read_text(encoding="utf-8") == broken


def test_invalid_toml_is_reported_not_rewritten(tagcast: Invoke, config_file: Path) -> None:
    config_file.write_text("[channels.file\nnetwork = 'file'\n", encoding="utf-8")
    result = tagcast("config", "set", "channels.file.handle", "x")
    assert result.exit_code == 1
    assert "is not valid TOML" in result.stderr
    assert config_file.read_text(encoding="utf-8") == "[channels.file\nnetwork = 'file'\n"


def test_get_errors(tagcast: Invoke) -> None:
    unknown = tagcast("config", "get", "channels.bsky.hadle")
    assert unknown.exit_code == 1
    assert "did you mean 'handle'?" in unknown.stderr
    missing = tagcast("config", "get", "channels.nope.handle")
    assert missing.exit_code == 1
    assert "no channels.nope in the config" in missing.stderr
    assert "channels has: file, bsky" in missing.stderr


def test_no_config_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from scheduler.cli.app import app

    monkeypatch.chdir(tmp_path)
    for args in (["config", "show"], ["config", "set", "version", "1"], ["config", "validate"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1
        assert "tagcast init" in result.stderr
