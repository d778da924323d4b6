"""``tagcast channels list|test`` on a real workspace, with the Mastodon fake as the network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.mastodon import MastodonFake
from typer.testing import CliRunner, Result

from scheduler.cli.app import app

TOKEN = "cli-secret-token-987"


@pytest.fixture
def fake() -> Iterator[MastodonFake]:
    with MastodonFake(token=TOKEN).running() as running:
        yield running


def workspace(tmp_path: Path, fake: MastodonFake, *, base_url: bool = True) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    masto_base = f'base_url = "{fake.base_url}"\n' if base_url else ""
    (root / "config" / "tagcast.toml").write_text(
        "[schedules.weekdays]\n"
        'slots = ["mon-fri 09:00"]\n\n'
        "[channels.masto]\n"
        'network = "mastodon"\n'
        f"{masto_base}"
        'schedule = "weekdays"\n\n'
        "[channels.notes]\n"
        'network = "file"\n'
        "enabled = false\n\n"
        "[channels.odd]\n"
        'network = "myspace"\n',
        encoding="utf-8",
    )
    return root


def tagcast(root: Path, *args: str, token: str | None = TOKEN) -> Result:
    env = {"COLUMNS": "200", **({"TAGCAST_CHANNELS__MASTO__TOKEN": token} if token else {})}
    return CliRunner().invoke(app, [*args, "--config", str(root)], env=env)


def test_list_json(tmp_path: Path, fake: MastodonFake) -> None:
    result = tagcast(workspace(tmp_path, fake), "channels", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "name": "masto",
            "network": "mastodon",
            "adapter": "scheduler.adapters.mastodon:MastodonAdapter",
            "schedule": "weekdays",
            "enabled": True,
        },
        {
            "name": "notes",
            "network": "file",
            "adapter": "scheduler.adapters.file:FileAdapter",
            "schedule": "default",
            "enabled": False,
        },
        {"name": "odd", "network": "myspace", "adapter": None, "schedule": "default", "enabled": True},
    ]


def test_list_table(tmp_path: Path, fake: MastodonFake) -> None:
    result = tagcast(workspace(tmp_path, fake), "channels", "list")
    assert result.exit_code == 0, result.output
    assert "scheduler.adapters.mastodon:MastodonAdapter" in result.stdout
    assert "no adapter installed" in result.stdout
    assert TOKEN not in result.output


def test_test_names_the_account(tmp_path: Path, fake: MastodonFake) -> None:
    result = tagcast(workspace(tmp_path, fake), "channels", "test", "masto")
    assert result.exit_code == 0, result.output
    assert "posts as @alice@127.0.0.1" in result.stdout
    assert "500 characters" in result.stdout
    assert [r.path for r in fake.requests if r.method == "POST"] == []


def test_test_with_a_rejected_token(tmp_path: Path, fake: MastodonFake) -> None:
    result = tagcast(workspace(tmp_path, fake), "channels", "test", "masto", token="wrong-token-555")
    assert result.exit_code == 1
    assert "masto (mastodon) cannot post" in result.stderr
    assert "The access token is invalid" in result.stderr
    assert "wrong-token-555" not in result.output


@pytest.mark.parametrize(
    ("setup", "words"),
    [("no-base-url", "channels.masto.base_url is not set"), ("no-token", "channels.masto.token is not set")],
)
def test_test_names_missing_settings(tmp_path: Path, fake: MastodonFake, setup: str, words: str) -> None:
    root = workspace(tmp_path, fake, base_url=setup != "no-base-url")
    result = tagcast(root, "channels", "test", "masto", token=None if setup == "no-token" else TOKEN)
    assert result.exit_code == 1
    assert words in " ".join(result.stderr.split())
    assert fake.requests == []


def test_test_an_unreachable_server(tmp_path: Path, fake: MastodonFake) -> None:
    root = workspace(tmp_path, fake)
    config = root / "config" / "tagcast.toml"
    config.write_text(config.read_text().replace(fake.base_url, "http://127.0.0.1:9"), encoding="utf-8")
    result = tagcast(root, "channels", "test", "masto")
    assert result.exit_code == 1
    assert "could not complete the check" in result.stderr


def test_test_unknown_channel_and_network(tmp_path: Path, fake: MastodonFake) -> None:
    root = workspace(tmp_path, fake)
    unknown = tagcast(root, "channels", "test", "nope")
    assert unknown.exit_code == 2
    assert "channels: masto, notes, odd" in unknown.stderr
    odd = tagcast(root, "channels", "test", "odd")
    assert odd.exit_code == 1
    assert "no adapter for network 'myspace'" in odd.stderr


def test_test_a_disabled_channel_still_checks(tmp_path: Path, fake: MastodonFake) -> None:
    result = tagcast(workspace(tmp_path, fake), "channels", "test", "notes")
    assert result.exit_code == 0, result.output
    assert "disabled" in result.stdout
