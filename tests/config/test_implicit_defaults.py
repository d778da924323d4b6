"""A key the user did not write never makes a config invalid; a key they wrote is checked as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import ConfigError
from scheduler.validation import validate_config_text

BSKY_ONLY = """\
[channels.bsky]
network = "bluesky"
handle = "alice.test"
"""


def test_no_defaults_table_and_no_file_channel_is_valid(tmp_path: Path) -> None:
    settings = validate_config_text(BSKY_ONLY, tmp_path)
    assert settings.defaults.channels == [], "the implicit default rule names no channel that is not there"


def test_the_implicit_default_still_sends_to_an_existing_file_channel(tmp_path: Path) -> None:
    settings = validate_config_text(BSKY_ONLY + '\n[channels.file]\nnetwork = "file"\n', tmp_path)
    assert settings.defaults.channels == ["file"]


def test_no_channels_at_all_gets_the_built_in_file_channel(tmp_path: Path) -> None:
    settings = validate_config_text('[defaults]\ntimezone = "UTC"\n', tmp_path)
    assert list(settings.channels) == ["file"]
    assert settings.defaults.channels == ["file"]


def test_a_written_default_channel_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    text = '[defaults]\nchannels = ["file"]\n\n' + BSKY_ONLY
    with pytest.raises(ConfigError) as caught:
        validate_config_text(text, tmp_path)
    assert caught.value.problems == [
        "defaults.channels (config/tagcast.toml:2): no channel named 'file' (configured: bsky); "
        "add [channels.file] or fix the name"
    ]


def test_a_default_channel_from_the_environment_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGCAST_DEFAULTS__CHANNELS", '["ghost"]')
    with pytest.raises(ConfigError) as caught:
        validate_config_text(BSKY_ONLY, tmp_path)
    assert any("no channel named 'ghost'" in problem for problem in caught.value.problems)
