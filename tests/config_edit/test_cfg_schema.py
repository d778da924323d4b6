"""The JSON Schema: generated from the models, valid, accepting the shipped config, committed up to date."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from scheduler.config.schema import SCHEMA_DIRECTIVE, config_schema, schema_text
from scheduler.workspace_init import workspace_files
from tests.config_edit.sample import COMMENTED, Invoke
from tests.conftest import REPO


def validator() -> Any:
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is a test dependency (pip install jsonschema)"
    )
    return jsonschema.Draft202012Validator(config_schema())


def as_json(value: Any) -> Any:
    """TOML data as a TOML language server checks it: dates and times as ISO text."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    return value


def errors(text: str) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator().iter_errors(as_json(tomllib.loads(text)))
    ]


def test_schema_is_a_valid_json_schema() -> None:
    type(validator()).check_schema(config_schema())


def test_shipped_config_matches_the_schema() -> None:
    assert errors((REPO / "config" / "tagcast.toml").read_text(encoding="utf-8")) == []


def test_shipped_config_points_at_the_committed_schema_which_is_up_to_date() -> None:
    text = (REPO / "config" / "tagcast.toml").read_text(encoding="utf-8")
    assert text.splitlines()[0] == SCHEMA_DIRECTIVE
    committed = (REPO / "config" / "tagcast.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(), "regenerate it: tagcast config schema > config/tagcast.schema.json"


def test_init_config_and_test_config_match_the_schema() -> None:
    files = workspace_files()
    init_text = files["config/tagcast.toml"].decode("utf-8")
    assert init_text.splitlines()[0] == SCHEMA_DIRECTIVE
    assert errors(init_text) == []
    assert files["config/tagcast.schema.json"].decode("utf-8") == schema_text()
    assert errors(COMMENTED) == []


@pytest.mark.parametrize(
    ("change", "word"),
    [
        (('handle = "alice.test"', 'hadle = "alice.test"'), "hadle"),
        (('min_gap = "2h"', 'min_gap = "soon"'), "soon"),
        (("max_hashtags = 3", "max_hashtags = -1"), "-1"),
        (("priority = 2", 'priority = "high"'), "high"),
    ],
)
def test_schema_underlines_typos(change: tuple[str, str], word: str) -> None:
    found = errors(COMMENTED.replace(*change))
    assert found and word in " ".join(found)


def test_secrets_are_write_only_strings_that_say_where_they_belong() -> None:
    token = config_schema()["$defs"]["ChannelSettings"]["properties"]["token"]
    assert token["type"] == "string"
    assert token["writeOnly"] is True
    assert "TAGCAST_CHANNELS__<NAME>__TOKEN" in token["description"]
    assert "token_file" in token["description"]


def test_optional_keys_have_no_null_and_durations_are_text() -> None:
    text = json.dumps(config_schema())
    assert '"type": "null"' not in text
    assert '"format": "duration"' not in text


def test_schema_command(tagcast: Invoke, workspace: Path) -> None:
    result = tagcast("config", "schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == config_schema()
