"""``config show`` and ``config get``: the effective config, and where each value came from."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from tests.config_edit.sample import COMMENTED, Invoke


def line_of(fragment: str, text: str = COMMENTED) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if fragment in line)


@pytest.fixture
def layered(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """File values, a .env value, an environment value and a secret file, all at once."""
    (workspace / ".env").write_text("TAGCAST_SERVICE__MAX_ATTEMPTS=5\n", encoding="utf-8")
    (workspace / "secrets").mkdir()
    (workspace / "secrets" / "bsky").write_text("from-a-file\n", encoding="utf-8")
    config = workspace / "config" / "tagcast.toml"
    config.write_text(
        COMMENTED.replace("max_hashtags = 3", 'max_hashtags = 3\npassword_file = "secrets/bsky"')
    )
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__HANDLE", "env.test")
    return workspace


def test_sources_name_file_line_dotenv_env_default_and_secret_file(tagcast: Invoke, layered: Path) -> None:
    text = (layered / "config" / "tagcast.toml").read_text(encoding="utf-8")
    result = tagcast("config", "show", "--sources", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {row["key"]: (row["value"], row["source"]) for row in json.loads(result.stdout)}
    assert rows["channels.bsky.handle"] == ("env.test", "env TAGCAST_CHANNELS__BSKY__HANDLE")
    assert rows["service.max_attempts"] == (5, ".env:1 TAGCAST_SERVICE__MAX_ATTEMPTS")
    assert rows["channels.bsky.max_hashtags"] == (3, f"config/tagcast.toml:{line_of('max_hashtags = 3')}")
    assert rows["rules.1.priority"] == (2, f"config/tagcast.toml:{line_of('priority = 2', text)}")
    assert rows["hashtags.aliases.ww2"] == ("WorldWarII", f"config/tagcast.toml:{line_of('aliases =')}")
    assert rows["schedules.daily.min_gap"] == ("2h", f"config/tagcast.toml:{line_of('min_gap')}")
    assert rows["schedules.daily.quiet_dates"] == (
        ["2026-12-25"],
        f"config/tagcast.toml:{line_of('quiet_dates')}",
    )
    assert rows["service.concurrency"] == (4, "default")
    assert rows["channels.file.enabled"] == (True, "default")
    assert rows["channels.bsky.password"] == ("**********", "file secrets/bsky (channels.bsky.password_file)")
    assert "channels.bsky.token" not in rows, "unset values are not listed"


def test_sources_for_people(tagcast: Invoke, layered: Path) -> None:
    text = (layered / "config" / "tagcast.toml").read_text(encoding="utf-8")
    result = tagcast("config", "show", "--sources")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    handle = next(line for line in lines if line.startswith("channels.bsky.handle "))
    assert handle.split("  #")[0].strip() == 'channels.bsky.handle = "env.test"'
    assert handle.endswith("# env TAGCAST_CHANNELS__BSKY__HANDLE")
    priority = next(line for line in lines if line.startswith("rules.1.priority "))
    assert priority.endswith(f"# config/tagcast.toml:{line_of('priority = 2', text)}")


@pytest.mark.usefixtures("layered")
def test_show_prints_the_effective_config_as_toml_and_json(tagcast: Invoke) -> None:
    shown = tagcast("config", "show")
    assert shown.exit_code == 0, shown.stderr
    data = tomllib.loads(shown.stdout)
    assert data["channels"]["bsky"]["handle"] == "env.test"
    assert data["channels"]["bsky"]["password"] == "**********"
    assert data["service"]["max_attempts"] == 5
    assert data["rules"][1]["priority"] == 2
    as_json = json.loads(tagcast("config", "show", "--json").stdout)
    assert as_json["schedules"]["daily"]["min_gap"] == "2h"
    assert as_json["channels"]["bsky"]["token"] is None


def test_get_prints_text_raw_and_the_rest_as_json(tagcast: Invoke) -> None:
    assert tagcast("config", "get", "channels.bsky.handle").stdout == "alice.test\n"
    assert tagcast("config", "get", "rules.0.channels").stdout == '["file", "bsky"]\n'
    assert tagcast("config", "get", "schedules.daily.min_gap").stdout == "2h\n"
    assert tagcast("config", "get", "channels.bsky.thread").stdout == "false\n"
    assert tagcast("config", "get", "channels.bsky.limit").stdout == "\n"
    assert json.loads(tagcast("config", "get", "channels.bsky.limit", "--json").stdout) is None
    table = json.loads(tagcast("config", "get", "schedules.weekdays").stdout)
    assert table["slots"] == ["mon-fri 08:30"]


def test_set_warns_when_the_environment_overrides(tagcast: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__HANDLE", "env.test")
    result = tagcast("config", "set", "channels.bsky.handle", "bob.test")
    assert result.exit_code == 0
    assert "env TAGCAST_CHANNELS__BSKY__HANDLE overrides this key" in result.stderr
    assert tagcast("config", "get", "channels.bsky.handle").stdout == "env.test\n"


def test_store_url_password_is_masked(tagcast: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGCAST_STORE__URL", "postgresql+psycopg://tagcast:s3cr3t-pw@db.example/tagcast")
    result = tagcast("config", "get", "store.url")
    assert result.stdout == "postgresql+psycopg://tagcast:**********@db.example/tagcast\n"
