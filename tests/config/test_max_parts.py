"""``channels.NAME.max_parts``: the most parts a thread may have (used when fitting a post)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config.schema import config_schema
from scheduler.errors import ConfigError
from scheduler.validation import validate_config_text

CHANNEL = '[channels.bsky]\nnetwork = "bluesky"\nthread = true\n'


def test_max_parts_defaults_to_25(tmp_path: Path) -> None:
    assert validate_config_text(CHANNEL, tmp_path).channels["bsky"].max_parts == 25


def test_max_parts_is_read_from_the_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert validate_config_text(CHANNEL + "max_parts = 1\n", tmp_path).channels["bsky"].max_parts == 1
    monkeypatch.setenv("TAGCAST_CHANNELS__BSKY__MAX_PARTS", "40")
    assert validate_config_text(CHANNEL, tmp_path).channels["bsky"].max_parts == 40


@pytest.mark.parametrize("value", ["0", "-3", '"many"', "2.5"])
def test_max_parts_is_a_whole_number_of_at_least_one(value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config_text(CHANNEL + f"max_parts = {value}\n", tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith("channels.bsky.max_parts (config/tagcast.toml:4): ")
    assert problem.endswith(
        "expected a whole number >= 1 (At most this many parts in a thread; a longer one is a problem to fix)"
    )


def test_max_parts_is_in_the_schema() -> None:
    field = config_schema()["$defs"]["ChannelSettings"]["properties"]["max_parts"]
    assert field == {
        "default": 25,
        "description": "At most this many parts in a thread; a longer one is a problem to fix.",
        "minimum": 1,
        "title": "Max Parts",
        "type": "integer",
    }
