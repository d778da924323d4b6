"""Property: whatever value ``config set`` accepts, ``config get`` returns that same value."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.durations import format_duration
from scheduler.config.edit import get_key, set_key
from scheduler.validation import validate_config_text
from tests.config_edit.sample import COMMENTED

# TOML strings hold any Unicode text except lone surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
list_items = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=15)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)).map(
    lambda d: timedelta(seconds=int(d.total_seconds()))
)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


def toml_list(items: list[str]) -> str:
    """The list in TOML array syntax, as a user would type it."""
    return tomlkit.item(items).as_string()


# key, strategy, how the value is typed on the command line, what get returns (JSON data)
CASES: dict[str, tuple[str, st.SearchStrategy[Any], Callable[[Any], str], Callable[[Any], Any]]] = {
    "str": ("channels.bsky.handle", texts, str, lambda v: v),
    "int": ("service.max_attempts", st.integers(1, 10**9), str, lambda v: v),
    "bool": ("channels.bsky.thread", st.booleans(), lambda v: "true" if v else "false", lambda v: v),
    "list[str]": ("hashtags.blocklist", st.lists(list_items, max_size=5), toml_list, lambda v: v),
    "duration": ("schedules.daily.min_gap", durations, format_duration, format_duration),
    "dates": (
        "schedules.daily.quiet_dates",
        st.lists(dates, max_size=4),
        lambda v: ", ".join(d.isoformat() for d in v),
        lambda v: [d.isoformat() for d in v],
    ),
    "optional int": ("channels.bsky.limit", st.integers(1, 100_000), str, lambda v: v),
}


def round_trip(kind: str, value: Any) -> None:
    key, _, typed, expected = CASES[kind]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        text = set_key(COMMENTED, key, typed(value)).text
        settings_ = validate_config_text(text, root)
        assert get_key(settings_, key) == expected(value)
        untouched = set_key(text, key, typed(value))
        assert untouched.text == text, "setting the same value again changes nothing"


@settings(max_examples=40, deadline=None)
@given(value=texts)
def test_str(value: str) -> None:
    round_trip("str", value)


@settings(max_examples=25, deadline=None)
@given(value=st.integers(1, 10**9))
def test_int(value: int) -> None:
    round_trip("int", value)


@settings(max_examples=5, deadline=None)
@given(value=st.booleans())
def test_bool(value: bool) -> None:
    round_trip("bool", value)


@settings(max_examples=30, deadline=None)
@given(value=st.lists(list_items, max_size=5))
def test_list_of_str(value: list[str]) -> None:
    round_trip("list[str]", value)


@settings(max_examples=30, deadline=None)
@given(value=durations)
def test_duration(value: timedelta) -> None:
    round_trip("duration", value)


@settings(max_examples=25, deadline=None)
@given(value=st.lists(dates, max_size=4))
def test_date_list(value: list[date]) -> None:
    round_trip("dates", value)


@settings(max_examples=25, deadline=None)
@given(value=st.integers(1, 100_000))
def test_optional_int(value: int) -> None:
    round_trip("optional int", value)


def test_every_settable_type_is_covered() -> None:
    from scheduler.config.keys import resolve_key

    annotations = {str(resolve_key(key).annotation) for key, *_ in CASES.values()}
    assert annotations >= {"<class 'str'>", "<class 'int'>", "<class 'bool'>", "list[str]"}
    assert annotations >= {"<class 'datetime.timedelta'>", "list[datetime.date]"}
    assert resolve_key(CASES["optional int"][0]).optional


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(CASES)), data=st.data())
def test_through_the_cli(kind: str, data: st.DataObject) -> None:
    key, strategy, typed, expected = CASES[kind]
    value = data.draw(strategy)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config" / "tagcast.toml"
        config.parent.mkdir()
        config.write_text(COMMENTED, encoding="utf-8")
        runner = CliRunner()
        done = runner.invoke(app, ["config", "set", key, typed(value), "--config", folder])
        assert done.exit_code == 0, done.stderr
        got = runner.invoke(app, ["config", "get", key, "--json", "--config", folder])
        assert got.exit_code == 0, got.stderr
        assert json.loads(got.stdout) == expected(value)
