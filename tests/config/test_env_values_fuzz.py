"""Any text in a TAGCAST_* variable (environment or .env) is a valid value or a problem naming the variable,
never a traceback: for durations, whole numbers, booleans, URLs, zones, lists and tables alike."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import tomlkit
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from scheduler.config import load_workspace
from scheduler.errors import ConfigError

CONFIG = """\
[schedules.daily]
slots = ["daily 09:00"]

[channels.bsky]
network = "bluesky"
handle = "alice.test"
schedule = "daily"

[[rules]]
tags = ["a"]
channels = ["bsky"]
"""

VARIABLES = [
    "TAGCAST_SERVICE__LEASE",  # a duration
    "TAGCAST_SERVICE__MAX_ATTEMPTS",  # a whole number >= 1
    "TAGCAST_CHANNELS__BSKY__MAX_PARTS",
    "TAGCAST_CHANNELS__BSKY__THREAD",  # a boolean
    "TAGCAST_CHANNELS__BSKY__BASE_URL",  # an http(s) URL
    "TAGCAST_STORE__URL",  # a database URL
    "TAGCAST_DEFAULTS__TIMEZONE",  # an IANA zone
    "TAGCAST_SCHEDULES__DAILY__SLOTS",  # a list, as JSON
    "TAGCAST_SCHEDULES__DAILY__QUIET_DATES",  # a list of dates
    "TAGCAST_HASHTAGS__ALIASES",  # a table
    "TAGCAST_ALERTS__DIGEST",  # a table of a model
    "TAGCAST_RULES",  # a list of tables
    "TAGCAST_CHANNELS",  # a table of tables
    "TAGCAST_CHANNELS__BSKY",
    "TAGCAST_CHANNELS__BSKY__PASSWORD_FILE",  # a path
    "TAGCAST_DEFAULTS__TEMPLATES",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
env_text = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)
values = st.one_of(
    env_text,
    json_values.map(json.dumps),
    st.integers().map(str),
    st.floats().map(str),
    st.sampled_from(["", " ", "[", "{", "[[[[[[[[", "1e999", "-1", "0", "99999999999999999999d", "nan"]),
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws")
    (root / "config").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    return root


@contextmanager
def variable(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def validate(root: Path) -> Result:
    return CliRunner().invoke(app, ["config", "validate", "--config", str(root)])


def assert_valid_or_named(result: Result, name: str, where: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        assert " is valid: " in result.output
    else:
        assert f"({where}" in result.output, result.output
        assert name in result.output or name.lower() in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(VARIABLES), value=values)
@example(name="TAGCAST_SERVICE__LEASE", value="99999999999999999999d")
@example(name="TAGCAST_SERVICE__LEASE", value="1e999")
@example(name="TAGCAST_SCHEDULES__DAILY__SLOTS", value="daily 09:00")
@example(name="TAGCAST_CHANNELS__BSKY__BASE_URL", value="https://[::1")
@example(name="TAGCAST_RULES", value="[" * 50_000)
@example(name="TAGCAST_SCHEDULES__DAILY__QUIET_DATES", value='["2026-02-30"]')
def test_an_environment_value_is_valid_or_a_problem_naming_it(workspace: Path, name: str, value: str) -> None:
    with variable(name, value):
        result = validate(workspace)
        assert_valid_or_named(result, name, "from the environment variable ")
        try:
            load_workspace(workspace)  # what every other command does
        except ConfigError as exc:
            assert result.exit_code == 1
            assert name in str(exc) or name.lower() in str(exc)


dotenv_text = st.text(
    st.characters(exclude_characters="\x00\n\r'\"\\#", exclude_categories=("Cs", "Zl", "Zp")), max_size=40
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(VARIABLES), value=dotenv_text | json_values.map(json.dumps))
def test_a_dotenv_value_is_valid_or_a_problem_naming_its_line(workspace: Path, name: str, value: str) -> None:
    env_file = workspace / ".env"
    quoted = "'" + value + "'" if "'" not in value else value
    env_file.write_text(f"# overrides\n{name}={quoted}\n", encoding="utf-8")
    try:
        assert_valid_or_named(validate(workspace), name, f"from .env line 2: {name}")
    finally:
        env_file.unlink()


KEYS = [
    ("service", "lease"),
    ("service", "max_attempts"),
    ("channels", "bsky", "max_parts"),
    ("channels", "bsky", "thread"),
    ("channels", "bsky", "base_url"),
    ("channels", "bsky", "template"),
    ("store", "url"),
    ("defaults", "timezone"),
    ("defaults", "channels"),
    ("schedules", "daily", "slots"),
    ("schedules", "daily", "quiet_dates"),
    ("schedules", "daily", "jitter"),
    ("hashtags", "aliases"),
    ("alerts", "digest"),
    ("alerts", "events"),
    ("defaults", "templates"),
    ("defaults", "posts"),
    ("channels", "bsky", "password_file"),
    ("channels", "bsky", "path"),
    ("channels", "bsky", "options"),
]
toml_values = st.recursive(
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
    | st.dates()
    | st.datetimes(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(KEYS), value=toml_values)
def test_a_file_value_is_valid_or_a_problem_naming_its_line(
    tmp_path_factory: pytest.TempPathFactory, key: tuple[str, ...], value: object
) -> None:
    """The same for values written in config/tagcast.toml, of any TOML type."""
    data = tomllib.loads(CONFIG)
    node = data
    for part in key[:-1]:
        node = node.setdefault(part, {})
    node[key[-1]] = value
    root = tmp_path_factory.mktemp("toml")
    (root / "config").mkdir()
    (root / "config" / "tagcast.toml").write_text(tomlkit.dumps(data), encoding="utf-8")
    result = validate(root)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert "tagcast.toml:" in result.output, result.output


DOTENV_NAMES = [*VARIABLES, "OTHER", "tagcast_service__lease", "export TAGCAST_X"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=st.binary(max_size=80)
    | st.lists(
        st.tuples(st.sampled_from(DOTENV_NAMES), env_text),
        max_size=4,
    ).map(lambda pairs: "".join(f"{name}={value}\n" for name, value in pairs).encode("utf-8", "replace"))
)
def test_any_dotenv_file_is_read_or_a_problem(workspace: Path, content: bytes) -> None:
    env_file = workspace / ".env"
    env_file.write_bytes(content)
    try:
        result = validate(workspace)
    finally:
        env_file.unlink()
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
