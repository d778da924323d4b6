"""No output of any ``config`` command contains a secret set through the environment or .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.config_edit.sample import COMMENTED, Invoke

SECRETS = {
    "TAGCAST_CHANNELS__BSKY__PASSWORD": "pw-from-env-3f9a",
    "TAGCAST_CHANNELS__BSKY__TOKEN": "token-from-env-77c1",
    "TAGCAST_CHANNELS__FILE__WEBHOOK_URL": "https://hooks.example/secret-path-9d2e",
    "TAGCAST_CHANNELS__BSKY__OPTIONS__API_TOKEN": "option-token-5b8e",
    "TAGCAST_STORE__URL": "postgresql+psycopg://tagcast:db-pass-1c4d@db.example/tagcast",
}
DOTENV_SECRET = "dotenv-secret-a6f0"
NEEDLES = [*SECRETS.values(), DOTENV_SECRET, "db-pass-1c4d", "secret-path-9d2e"]

COMMANDS = [
    ["config", "show"],
    ["config", "show", "--json"],
    ["config", "show", "--sources"],
    ["config", "show", "--sources", "--json"],
    ["config", "get", "channels.bsky"],
    ["config", "get", "channels.bsky", "--json"],
    ["config", "get", "channels.bsky.password"],
    ["config", "get", "channels.bsky.token"],
    ["config", "get", "channels.file.webhook_url"],
    ["config", "get", "channels.bsky.options"],
    ["config", "get", "channels.telegram.bot_token"],
    ["config", "get", "store.url"],
    ["config", "get", "channels"],
    ["config", "set", "channels.bsky.password", "typed-on-the-command-line"],
    ["config", "set", "channels.bsky.handle", "bob.test"],
    ["config", "set", "channels.bsky.max_hashtags", "many"],
    ["config", "set", "rules.0.channels", "ghost"],
    ["config", "unset", "channels.bsky.network"],
    ["config", "validate"],
    ["config", "validate", "--json"],
]


@pytest.fixture
def secrets_everywhere(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    (workspace / ".env").write_text(
        f"TAGCAST_CHANNELS__TELEGRAM__BOT_TOKEN={DOTENV_SECRET}\n", encoding="utf-8"
    )
    config = workspace / "config" / "tagcast.toml"
    config.write_text(
        COMMENTED.replace(
            '[channels.file]\nnetwork = "file"',
            '[channels.telegram]\nnetwork = "telegram"\n\n[channels.file]\nnetwork = "file"',
        )
    )


@pytest.mark.usefixtures("secrets_everywhere")
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[1:]) for c in COMMANDS])
def test_no_secret_in_any_output(tagcast: Invoke, args: list[str]) -> None:
    result = tagcast(*args)
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for needle in NEEDLES:
        assert needle not in output, f"{needle!r} leaked by {' '.join(args)}"


@pytest.mark.usefixtures("secrets_everywhere")
def test_the_secrets_are_really_in_effect(tagcast: Invoke) -> None:
    assert tagcast("config", "get", "channels.bsky.password").stdout == "**********\n"
    assert tagcast("config", "get", "channels.telegram.bot_token").stdout == "**********\n"
    assert tagcast("config", "get", "channels.bsky.options.api_token").stdout == "**********\n"


@pytest.mark.usefixtures("secrets_everywhere")
def test_invalid_secret_in_environment_is_reported_without_its_value(
    tagcast: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS", "not-a-number-but-secretish")
    result = tagcast("config", "validate")
    assert result.exit_code == 1
    assert "not-a-number-but-secretish" not in result.stdout + result.stderr
    for needle in NEEDLES:
        assert needle not in result.stdout + result.stderr
