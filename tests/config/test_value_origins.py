"""A problem points where the value was written: a TOML line, a line of .env, or an environment variable;
time zones are checked by name; every bad slot of a schedule is reported at its own line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from scheduler.config.env_origin import env_origin
from scheduler.errors import ConfigError
from scheduler.validation import validate_config_text
from tests.conftest import REPO

CONFIG = """\
[channels.bsky]
network = "bluesky"
handle = "alice.test"
max_hashtags = 3

[schedules.daily]
timezone = "Europe/Berlin"
slots = ["daily 09:00"]
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    return tmp_path


def validate(root: Path, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.chdir(root)
    return CliRunner().invoke(app, ["config", "validate"])


def problems(result: Result) -> list[str]:
    assert result.exit_code == 1, result.output
    return [line.removeprefix("✗ ") for line in result.stdout.splitlines()[:-1]]


def test_a_dotenv_value_points_at_its_line_in_dotenv(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / ".env").write_text(
        "# secrets and overrides\nEDITOR=vim\nTAGCAST_CHANNELS__BSKY__MAX_HASHTAGS=lots\n"
        "export TAGCAST_SERVICE__LEASE='soon'\n",
        encoding="utf-8",
    )
    found = problems(validate(root, monkeypatch))
    assert len(found) == 2, found
    assert found[0].startswith(
        "service.lease (from .env line 4: TAGCAST_SERVICE__LEASE): 'soon' is not a duration"
    )
    assert found[1].startswith(
        "channels.bsky.max_hashtags (from .env line 3: TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS): "
        "Input should be a valid integer"
    )
    assert "config unset" not in found[1], "unsetting the TOML key would not help: the value is in .env"


def test_other_programs_variables_in_dotenv_are_left_alone(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / ".env").write_text("EDITOR=vim\nDATABASE_URL=postgres://x\n", encoding="utf-8")
    result = validate(root, monkeypatch)
    assert result.exit_code == 0, result.output


def test_an_unknown_tagcast_name_in_dotenv_is_reported_at_its_line(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / ".env").write_text("\n\nTAGCAST_VERSON=1\n", encoding="utf-8")
    assert problems(validate(root, monkeypatch)) == [
        "verson (from .env line 3: TAGCAST_VERSON): unknown key; did you mean 'version'? (allowed here: "
        "alerts, channels, defaults, hashtags, media, render, rules, schedules, service, sources, store, "
        "version); remove it or fix its name"
    ]


def test_the_environment_wins_over_dotenv_and_is_named(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / ".env").write_text("TAGCAST_SERVICE__LEASE=5m\n", encoding="utf-8")
    monkeypatch.setenv("TAGCAST_SERVICE__LEASE", "later")
    (found,) = problems(validate(root, monkeypatch))
    assert found.startswith("service.lease (from the environment variable TAGCAST_SERVICE__LEASE): 'later'")


def test_a_table_given_as_json_in_the_environment_is_the_origin_of_its_keys(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGCAST_STORE", '{"url": 3}')
    (found,) = problems(validate(root, monkeypatch))
    assert found.startswith("store.url (from the environment variable TAGCAST_STORE): Input should be")


def test_origin_rules() -> None:
    environ = {"TAGCAST_CHANNELS__BSKY": '{"handle": "x"}', "tagcast_service__lease": "x"}
    assert env_origin(["channels", "bsky", "handle"], None, environ) == (
        "from the environment variable TAGCAST_CHANNELS__BSKY"
    )
    assert env_origin(["channels", "bsky", "limit"], None, environ) is None, "a sibling from the TOML file"
    assert env_origin(["service", "lease"], None, environ) == (
        "from the environment variable tagcast_service__lease"
    )
    assert env_origin(["rules", 0, "tags"], None, {"TAGCAST_RULES": "[" * 100_000}) is None


@pytest.mark.parametrize(
    ("config", "key_and_line", "words"),
    [
        ('[defaults]\ntimezone = "Mars/Olympus"\n', "defaults.timezone (config/tagcast.toml:2)", ""),
        (
            '[defaults]\ntimezone = "europe/berlin"\n',
            "defaults.timezone (config/tagcast.toml:2)",
            "did you mean 'Europe/Berlin'?",
        ),
        (
            '[schedules.s]\ntimezone = "Berlin"\n',
            "schedules.s.timezone (config/tagcast.toml:2)",
            "did you mean 'Europe/Berlin'?",
        ),
        (
            '[schedules.s]\ntimezone = "America/New_Yrok"\n',
            "schedules.s.timezone (config/tagcast.toml:2)",
            "did you mean 'America/New_York'",
        ),
        (
            '[alerts.digest]\nat = "08:00"\ntimezone = "../../etc/passwd"\n',
            "alerts.digest.timezone (config/tagcast.toml:3)",
            "",
        ),
    ],
)
def test_an_unknown_time_zone_is_refused_with_a_suggestion(
    config: str, key_and_line: str, words: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config_text(config, tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{key_and_line}: "), problem
    assert "is not a known IANA time zone" in problem
    assert words in problem
    assert "expected an IANA time zone name like Europe/Berlin" in problem


def test_every_bad_slot_is_reported_at_its_own_line(tmp_path: Path) -> None:
    config = textwrap.dedent(
        """\
        [schedules.daily]
        timezone = "Europe/Berlin"
        slots = [
          "daily 09:00",
          "dialy 10:00",   # a typo
          "daily 12:00", "daily 25:00",
          "sometime",
        ]
        """
    )
    with pytest.raises(ConfigError) as caught:
        validate_config_text(config, tmp_path)
    assert [p.split(": ", 1)[0] for p in caught.value.problems] == [
        "schedules.daily.slots.1 (config/tagcast.toml:5)",
        "schedules.daily.slots.3 (config/tagcast.toml:6)",
        "schedules.daily.slots.4 (config/tagcast.toml:7)",
    ]
    assert "invalid slot 'dialy 10:00': 'dialy' is not a day" in caught.value.problems[0]
    assert "invalid slot 'daily 25:00'" in caught.value.problems[1]
    assert "accepted forms" in caught.value.problems[2]


def test_a_bad_slot_from_dotenv_points_at_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        'TAGCAST_SCHEDULES__DAILY__SLOTS=["daily 9:00", "never"]\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        validate_config_text('[schedules.daily]\nslots = ["daily 09:00"]\n', tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(
        "schedules.daily.slots.1 (from .env line 1: TAGCAST_SCHEDULES__DAILY__SLOTS): invalid slot 'never'"
    )


def test_a_dangling_name_from_dotenv_points_at_dotenv_not_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('\nTAGCAST_DEFAULTS__CHANNELS=["ghost"]\n', encoding="utf-8")
    text = '[defaults]\nchannels = ["file"]\n\n[channels.file]\nnetwork = "file"\n'
    with pytest.raises(ConfigError) as caught:
        validate_config_text(text, tmp_path)
    assert caught.value.problems == [
        "defaults.channels (from .env line 2: TAGCAST_DEFAULTS__CHANNELS): no channel named 'ghost' "
        "(configured: file); add [channels.ghost] or fix the name"
    ]


def test_the_documented_example_of_a_dotenv_problem_is_what_validate_prints(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    shown = "service.lease (from .env line 3: TAGCAST_SERVICE__LEASE): 'soon' is not a duration"
    assert f"`{shown}`" in documented
    (root / ".env").write_text("# overrides\n\nTAGCAST_SERVICE__LEASE=soon\n", encoding="utf-8")
    (found,) = problems(validate(root, monkeypatch))
    assert found.startswith(shown)


def test_the_documented_example_of_a_list_from_the_environment_is_valid(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    documented = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert "`TAGCAST_SCHEDULES__DAILY__SLOTS='[\"mon-fri 09:00\"]'`" in documented
    monkeypatch.setenv("TAGCAST_SCHEDULES__DAILY__SLOTS", '["mon-fri 09:00"]')
    result = validate(root, monkeypatch)
    assert result.exit_code == 0, result.output


def test_a_dotenv_that_is_not_utf8_is_a_problem_not_a_traceback(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / ".env").write_bytes(b"TAGCAST_SERVICE__LEASE=\xff\xfe\n")
    assert problems(validate(root, monkeypatch)) == [".env: not UTF-8 text (byte 23); save it as UTF-8"]
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 1
    assert "- .env: not UTF-8 text (byte 23); save it as UTF-8" in result.stderr


def test_a_tagcast_line_dotenv_cannot_read_is_a_problem(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (root / ".env").write_text(
        "# overrides\nOTHER='not closed\nTAGCAST_SERVICE__LEASE=\"also not closed\n", encoding="utf-8"
    )
    found = problems(validate(root, monkeypatch))
    assert len(found) == 1, found
    assert found[0].startswith(".env line 3: not NAME=value; quote a value that holds spaces")


def test_a_secret_file_that_is_not_utf8_is_a_problem_in_validate_and_on_load(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "token").write_bytes(b"\xff\xfe")
    config = root / "config" / "tagcast.toml"
    with_file = CONFIG.replace('handle = "alice.test"', 'handle = "alice.test"\npassword_file = "token"')
    config.write_text(with_file, encoding="utf-8")
    (found,) = problems(validate(root, monkeypatch))
    assert found.startswith("channels.bsky.password_file (config/tagcast.toml:4): cannot read ")
    assert "as UTF-8 text" in found
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 1
    assert "cannot read" in result.stderr and "it is not UTF-8 text" in result.stderr
