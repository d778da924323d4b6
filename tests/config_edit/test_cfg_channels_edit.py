"""``channels add`` and ``channels remove`` edit the TOML the same safe way as ``config set``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from scheduler.cli.channels_edit import add_commands
from tests.config_edit.sample import COMMENTED, Invoke

channels_group = typer.Typer()
add_commands(channels_group)


@pytest.fixture
def channels(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.chdir(workspace)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(channels_group, list(args))

    return invoke


NEW_TABLE = (
    '[channels.masto]\nnetwork = "mastodon"\nbase_url = "https://example.social"\nmax_hashtags = 4\n\n'
)


def test_add_places_the_table_after_the_last_channel(channels: Invoke, config_file: Path) -> None:
    result = channels(
        "add",
        "masto",
        "--network",
        "Mastodon",
        "--set",
        "base_url=https://example.social",
        "-s",
        "max_hashtags=4",
    )
    assert result.exit_code == 0, result.stderr
    assert config_file.read_text(encoding="utf-8") == COMMENTED.replace(
        "max_hashtags = 3\n\n# Rules", "max_hashtags = 3\n\n" + NEW_TABLE + "# Rules"
    )
    assert "TAGCAST_CHANNELS__MASTO__TOKEN" in result.stderr
    assert "no rule sends to it yet" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (
            ["add", "bsky", "--network", "bluesky"],
            1,
            ["channel 'bsky' already exists", "config set channels.bsky."],
        ),
        (["add", "My-Chan", "--network", "file"], 1, ["cannot be a channel name"]),
        (["add", "news", "--network", "myspace"], 1, ["unknown network 'myspace'", "installed adapters"]),
        (
            ["add", "news", "--network", "x", "--set", "api_key=abc"],
            1,
            ["is a secret", "TAGCAST_CHANNELS__NEWS__API_KEY"],
        ),
        (
            ["add", "news", "--network", "x", "--set", "max_hashtags=lots"],
            1,
            ["'lots' is not a whole number"],
        ),
        (["add", "news", "--network", "x", "--set", "hadle=me"], 1, ["did you mean 'handle'?"]),
        (["add", "news", "--network", "x", "--set", "oops"], 2, ["'oops' is not KEY=VALUE"]),
        (["add", "news"], 2, ["--network"]),
        (["remove", "ghost"], 1, ["no [channels.ghost]", "channels in the file: file, bsky"]),
        (
            ["remove", "bsky"],
            1,
            ["channel 'bsky' is still in use", "rules[0] (history) (config/tagcast.toml:", "--drop-rules"],
        ),
        (
            ["remove", "file"],
            1,
            ["rules[0] (history)", "defaults.channels (config/tagcast.toml:10) names it"],
        ),
    ],
)
def test_refusals_leave_the_file_alone(
    channels: Invoke, config_file: Path, args: list[str], code: int, words: list[str]
) -> None:
    result = channels(*args)
    assert result.exit_code == code, result.output
    output = result.stdout + result.stderr
    for word in words:
        assert word in output
    assert config_file.read_bytes() == COMMENTED.encode()


def test_remove_unused_channel(channels: Invoke, config_file: Path) -> None:
    assert channels("add", "spare", "--network", "file").exit_code == 0
    result = channels("remove", "spare")
    assert result.exit_code == 0, result.stderr
    assert config_file.read_text(encoding="utf-8") == COMMENTED


def test_remove_with_drop_rules(channels: Invoke, config_file: Path) -> None:
    result = channels("remove", "bsky", "--drop-rules")
    assert result.exit_code == 0, result.stderr
    assert "rules[0] (history): 'bsky' taken out of its channels" in result.stderr
    assert "rules[1] (science): deleted, it had no other channel" in result.stderr
    text = config_file.read_text(encoding="utf-8")
    assert "[channels.bsky]" not in text
    assert 'channels = ["file"]' in text
    assert 'name = "science"' not in text
    assert "# Rules route by hashtag." in text, "comments of the other tables stay"
    assert 'network = "file"   # local folder' in text


def test_remove_default_channel_with_drop_rules(channels: Invoke, config_file: Path) -> None:
    result = channels("remove", "file", "--drop-rules")
    assert result.exit_code == 0, result.stderr
    assert "defaults.channels: 'file' taken out" in result.stderr
    text = config_file.read_text(encoding="utf-8")
    assert "channels = []    # fallback channels" in text
    assert 'channels = ["bsky"]\n\n# The second rule.' in text
