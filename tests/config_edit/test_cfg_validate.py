"""``config validate`` lists every problem at once: key, TOML line, what is wrong, how to fix it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.errors import ConfigError
from scheduler.validation import check_config_text, validate_config_text
from tests.config_edit.sample import COMMENTED, Invoke

BROKEN = """\
[defaults]
schedule = "daily"

[schedules.daily]
timezone = "Mars/Olympus"
slots = ["daily 09:00"]
min_gap = "soon"

[channels.file]
network = "file"
shedule = "daily"

[channels.masto]
netwrok = "mastodon"

[channels.tg]
network = "telegrm"
max_hashtags = -1
template = "missing.j2"
token_file = "secrets/tg"

[[rules]]
tags = ["a"]
channels = ["file", "masto", "ghost"]
schedule = "weekly"

[[rules]]
tags = ["b"]
"""

EXPECTED = [
    # (key and line, words of the message)
    ("schedules.daily.min_gap (config/tagcast.toml:7)", "'soon' is not a duration"),
    ("channels.file.shedule (config/tagcast.toml:11)", "did you mean 'schedule'?"),
    ("channels.masto.network (config/tagcast.toml:13)", "required key is missing"),
    ("channels.masto.netwrok (config/tagcast.toml:14)", "did you mean 'network'?"),
    ("channels.tg.max_hashtags (config/tagcast.toml:18)", "expected a whole number >= 0"),
    ("rules.1.channels (config/tagcast.toml:27)", "required key is missing"),
    ("channels.tg.network (config/tagcast.toml:17)", "unknown network 'telegrm'"),
    ("channels.tg.template (config/tagcast.toml:19)", "no template 'missing.j2'"),
    ("rules[0].channels (config/tagcast.toml:24)", "no channel named 'ghost'"),
    ("rules[0].schedule (config/tagcast.toml:25)", "no schedule named 'weekly'"),
    ("schedules.daily.timezone (config/tagcast.toml:5)", "'Mars/Olympus' is not a known IANA time zone"),
    ("template config/templates/bad.j2, line 2", "Unexpected end of template"),
    ("channels.tg.token_file (config/tagcast.toml:20)", "TAGCAST_CHANNELS__TG__TOKEN"),
]


@pytest.fixture
def broken(workspace: Path) -> Path:
    (workspace / "config" / "tagcast.toml").write_text(BROKEN, encoding="utf-8")
    (workspace / "config" / "templates").mkdir()
    (workspace / "config" / "templates" / "bad.j2").write_text("{% if x %}\n{{ x }}\n", encoding="utf-8")
    return workspace


@pytest.mark.usefixtures("broken")
def test_every_problem_at_once(tagcast: Invoke) -> None:
    result = tagcast("config", "validate")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    for where, words in EXPECTED:
        assert any(where in line and words in line for line in lines), (
            f"missing: {where}: {words}\n{result.stdout}"
        )
    assert lines[-1] == f"{len(lines) - 1} problem(s) in config/tagcast.toml"
    assert len(lines) - 1 == len(EXPECTED), "one line per problem, no duplicates"


@pytest.mark.usefixtures("broken")
def test_validate_json(tagcast: Invoke) -> None:
    result = tagcast("config", "validate", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert len(report["problems"]) == len(EXPECTED)
    assert report["warnings"] == []


def test_valid_config(tagcast: Invoke) -> None:
    result = tagcast("config", "validate")
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "config/tagcast.toml is valid: 2 channel(s), 2 rule(s), 2 schedule(s)\n"
    assert json.loads(tagcast("config", "validate", "--json").stdout) == {"problems": [], "warnings": []}


def test_toml_syntax_error(tagcast: Invoke, config_file: Path) -> None:
    config_file.write_text('[channels.file]\nnetwork = "file\n', encoding="utf-8")
    result = tagcast("config", "validate")
    assert result.exit_code == 1
    assert "is not valid TOML" in result.stdout
    assert "line 2" in result.stdout


def test_problem_from_the_environment_names_the_variable(
    tagcast: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS", "lots")
    result = tagcast("config", "validate")
    assert result.exit_code == 1
    assert (
        "channels.bsky.max_hashtags (from the environment variable TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS)"
        in result.stdout
    )


def test_validate_config_text_for_the_service(workspace: Path) -> None:
    settings = validate_config_text(COMMENTED, workspace)
    assert settings.channels["bsky"].handle == "alice.test"
    with pytest.raises(ConfigError) as caught:
        validate_config_text(BROKEN, workspace, shown="tagcast.toml")
    assert len(caught.value.problems) >= 10
    assert all("tagcast.toml" in p or p.startswith("template") for p in caught.value.problems)


def test_validate_config_text_reads_secret_files(workspace: Path) -> None:
    (workspace / "token").write_text("s3cret\n", encoding="utf-8")
    text = COMMENTED.replace('handle = "alice.test"', 'handle = "alice.test"\npassword_file = "token"')
    settings = validate_config_text(text, workspace)
    assert settings.channels["bsky"].secret_value("password") == "s3cret"


def test_report_keeps_going_after_set_aside_values(workspace: Path) -> None:
    report = check_config_text(BROKEN, workspace)
    assert report.settings is not None, "invalid values are set aside so that references can still be checked"
    assert not report.ok
