from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.config import load_workspace
from scheduler.config.durations import format_duration, parse_duration
from scheduler.errors import ConfigError
from tests.conftest import WriteWorkspace

BASE = """\
[schedules.weekdays]
timezone = "Europe/Berlin"
slots = ["mon-fri 09:00"]
min_gap = "1h30m"

[channels.bsky]
network = "bluesky"
handle = "alice.test"
schedule = "weekdays"

[[rules]]
tags = ["#KhalkhinGol"]
channels = ["bsky"]
"""


def test_reads_toml_and_fills_defaults(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(BASE)
    ws = load_workspace(root)
    settings = ws.settings
    assert ws.root == root
    assert settings.schedules["weekdays"].min_gap == timedelta(hours=1, minutes=30)
    assert settings.channels["bsky"].handle == "alice.test"
    assert settings.rules[0].tags == ["KhalkhinGol"]
    assert settings.store.url == "sqlite:///var/tagcast.db"
    assert "default" in settings.schedules, "the built-in default schedule is added when none is named"


def test_found_from_a_subfolder(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(BASE)
    (root / "posts" / "deep").mkdir()
    assert load_workspace(cwd=root / "posts" / "deep").root == root


def test_tagcast_config_env_names_the_workspace(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = make_workspace(BASE)
    monkeypatch.setenv("TAGCAST_CONFIG", str(root))
    assert load_workspace(cwd=tmp_path).root == root


def test_environment_overrides_file_and_secrets_stay_secret(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(BASE)
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__PASSWORD", "hunter2-secret")
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__HANDLE", "bob.test")
    settings = load_workspace(root).settings
    channel = settings.channels["bsky"]
    assert channel.handle == "bob.test"
    assert channel.secret_value("password") == "hunter2-secret"
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in settings.model_dump_json()


def test_dotenv_file_is_read_and_environment_wins(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(BASE)
    (root / ".env").write_text("TAGCAST_CHANNELS__BSKY__PASSWORD=from-dotenv\n", encoding="utf-8")
    assert load_workspace(root).settings.channels["bsky"].secret_value("password") == "from-dotenv"
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__PASSWORD", "from-env")
    assert load_workspace(root).settings.channels["bsky"].secret_value("password") == "from-env"


def test_secret_file_relative_to_workspace(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(
        BASE.replace('handle = "alice.test"', 'handle = "a.test"\npassword_file = "secrets/pw"')
    )
    (root / "secrets").mkdir()
    (root / "secrets" / "pw").write_text("s3cret\n", encoding="utf-8")
    assert load_workspace(root).settings.channels["bsky"].secret_value("password") == "s3cret"


def test_missing_secret_file_names_the_key_and_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(BASE.replace('handle = "alice.test"', 'password_file = "nope.txt"'))
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    text = str(caught.value)
    assert "channels.bsky.password_file" in text
    assert "tagcast.toml:8" in text
    assert "TAGCAST_CHANNELS__BSKY__PASSWORD" in text


def test_typo_names_key_line_and_suggestion(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(BASE.replace("schedule = ", "schedul = "))
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    text = str(caught.value)
    assert "channels.bsky.schedul (config/tagcast.toml:9)" in text or "channels.bsky.schedul (" in text
    assert ":9)" in text
    assert "did you mean 'schedule'" in text


def test_wrong_type_names_key_and_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(BASE + 'priority = "high"\n')
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "rules.0.priority" in str(caught.value)
    assert ":14)" in str(caught.value)


def test_bad_value_from_environment_names_the_variable(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(BASE)
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS", "lots")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "from the environment variable TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS" in str(caught.value)


def test_invalid_secret_value_is_never_echoed(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(BASE + "extra_key = 1\n")
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__PASSWORD", "never-print-me")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "never-print-me" not in str(caught.value)


def test_toml_syntax_error_names_file_and_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace('[store]\nurl = "unterminated\n')
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "config/tagcast.toml is not valid TOML" in str(caught.value)
    assert "line 2" in str(caught.value)


def test_no_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workspace(cwd=tmp_path)
    assert "tagcast init" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        (45, timedelta(seconds=45)),
    ],
)
def test_durations_round_trip(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


def test_bad_duration_explains_the_format() -> None:
    with pytest.raises(ValueError, match="1h30m"):
        parse_duration("soonish")


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-3, "is negative"),
        (float("inf"), "is longer than 3650 days"),
        (float("nan"), "is not a number of seconds"),
        ("3651d", "is longer than 3650 days"),
        ("99999999999999999999d", "is longer than 3650 days"),
        ("٣s", "is not a duration"),
        ("-5", "is not a duration"),
    ],
)
def test_a_duration_out_of_bounds_is_a_value_error(value: object, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_duration(value)


def test_a_plain_number_as_text_is_seconds() -> None:
    """From the environment every value is text: TAGCAST_SERVICE__LEASE=300 means what lease = 300 means."""
    assert parse_duration("300") == parse_duration(300) == timedelta(minutes=5)
    assert parse_duration("1.5") == timedelta(seconds=1.5)
    assert parse_duration("3650d") == timedelta(days=3650)


def test_an_infinite_duration_in_the_file_is_a_problem_not_a_crash(
    make_workspace: WriteWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(BASE + "\n[service]\nlease = inf\nmax_age = 60\n")
    monkeypatch.chdir(root)
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert caught.value.problems == ["service.lease (config/tagcast.toml:16): inf is longer than 3650 days"]
