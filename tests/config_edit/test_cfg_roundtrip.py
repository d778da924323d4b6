"""Set and unset keep the file byte for byte, except the value that changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config.edit import set_key, unset_key
from tests.config_edit.sample import COMMENTED, Invoke

SET_CASES = [
    # (key, value typed, text before, text after)
    (
        "channels.bsky.handle",
        "bob.test",
        'handle = "alice.test"   # the account',
        'handle = "bob.test"   # the account',
    ),
    ("rules.1.priority", "5", "priority = 2   # higher first", "priority = 5   # higher first"),
    ("rules.0.channels", "file", 'channels = ["file", "bsky"]', 'channels = ["file"]'),
    (
        "rules.0.tags",
        '["History", "War"]',
        'tags = ["History"]\nchannels = ["file"',
        'tags = ["History", "War"]\nchannels = ["file"',
    ),
    ("schedules.daily.min_gap", "90m", 'min_gap = "2h"', 'min_gap = "90m"'),
    (
        "schedules.daily.quiet_dates",
        "2026-12-24, 2026-12-25",
        "quiet_dates = [2026-12-25]",
        "quiet_dates = [2026-12-24, 2026-12-25]",
    ),
    (
        "schedules.weekdays.slots",
        "mon-fri 08:30, sat,sun 10:00",
        'slots = ["mon-fri 08:30"]',
        'slots = ["mon-fri 08:30", "sat,sun 10:00"]',
    ),
    (
        "hashtags.aliases.ww2",
        "WW2",
        'aliases = { ww2 = "WorldWarII" }   # inline table',
        'aliases = {ww2 = "WW2"}   # inline table',
    ),
    (
        "hashtags.aliases.wwii",
        "WorldWarII",
        'aliases = { ww2 = "WorldWarII" }   # inline table',
        'aliases = {ww2 = "WorldWarII", wwii = "WorldWarII"}   # inline table',
    ),
    ("hashtags.blocklist", "a, b", '[\n    "spam",   # a multi-line array\n    "junk",\n]', '["a", "b"]'),
    ("version", "1", "version = 1   # the format version", "version = 1   # the format version"),
    ("channels.bsky.thread", "yes", "max_hashtags = 3\n", "max_hashtags = 3\nthread = true\n"),
    (
        "channels.file.max_hashtags",
        "0",
        'schedule = "daily"\n\n# Bluesky',
        'schedule = "daily"\nmax_hashtags = 0\n\n# Bluesky',
    ),
    (
        "channels.news.network",
        "file",
        "max_hashtags = 3\n\n",
        'max_hashtags = 3\n\n[channels.news]\nnetwork = "file"\n\n',
    ),
    (
        "service.max_attempts",
        "3",
        "max_hashtags = 3\n\n",
        "max_hashtags = 3\n\n[service]\nmax_attempts = 3\n\n",
    ),
]

UNSET_CASES = [
    (
        "channels.file.schedule",
        'network = "file"   # local folder\nschedule = "daily"\n',
        'network = "file"   # local folder\n',
    ),
    ("rules.1.priority", "priority = 2   # higher first\n", ""),
    ("hashtags.aliases.ww2", 'aliases = { ww2 = "WorldWarII" }', "aliases = {}"),
    (
        "schedules.weekdays",
        '[schedules.weekdays]\ntimezone = "America/New_York"\nslots = ["mon-fri 08:30"]\n\n',
        "",
    ),
    (
        "rules.0",
        '[[rules]]\nname = "history"   # first rule\ntags = ["History"]\nchannels = ["file", "bsky"]\n\n',
        "",
    ),
    ("channels.bsky.max_hashtags", "max_hashtags = 3\n", ""),
]


def expected(before: str, after: str) -> str:
    assert COMMENTED.count(before) == 1, f"the test's anchor {before!r} must be unique"
    return COMMENTED.replace(before, after)


@pytest.mark.parametrize(("key", "value", "before", "after"), SET_CASES, ids=[c[0] for c in SET_CASES])
def test_set_changes_only_the_value(key: str, value: str, before: str, after: str) -> None:
    change = set_key(COMMENTED, key, value)
    assert change.text == expected(before, after)


@pytest.mark.parametrize(("key", "before", "after"), UNSET_CASES, ids=[c[0] for c in UNSET_CASES])
def test_unset_removes_only_the_key(key: str, before: str, after: str) -> None:
    assert unset_key(COMMENTED, key).text == expected(before, after)


@pytest.mark.parametrize(
    ("args", "before", "after"),
    [
        (["set", "channels.bsky.handle", "bob.test"], 'handle = "alice.test"', 'handle = "bob.test"'),
        (["set", "rules.0.channels", "file"], 'channels = ["file", "bsky"]', 'channels = ["file"]'),
        (
            ["set", "hashtags.aliases.x", "Y"],
            'aliases = { ww2 = "WorldWarII" }',
            'aliases = {ww2 = "WorldWarII", x = "Y"}',
        ),
        (["unset", "channels.file.schedule"], 'schedule = "daily"\n\n# Bluesky', "\n# Bluesky"),
    ],
)
def test_cli_writes_exactly_that_change(
    tagcast: Invoke, config_file: Path, args: list[str], before: str, after: str
) -> None:
    result = tagcast("config", *args)
    assert result.exit_code == 0, result.stderr
    assert config_file.read_text(encoding="utf-8") == expected(before, after)


def test_crlf_line_endings_are_kept(tagcast: Invoke, config_file: Path) -> None:
    config_file.write_bytes(COMMENTED.replace("\n", "\r\n").encode())
    result = tagcast("config", "set", "channels.bsky.handle", "bob.test")
    assert result.exit_code == 0, result.stderr
    written = config_file.read_bytes()
    assert written == expected('handle = "alice.test"', 'handle = "bob.test"').replace("\n", "\r\n").encode()


def test_set_to_the_same_value_leaves_the_file_alone(tagcast: Invoke, config_file: Path) -> None:
    before = config_file.stat().st_mtime_ns
    result = tagcast("config", "set", "channels.bsky.handle", "alice.test")
    assert result.exit_code == 0
    assert "already has that value" in result.stderr
    assert config_file.stat().st_mtime_ns == before


def test_a_negative_number_is_a_value_not_an_option(tagcast: Invoke, config_file: Path) -> None:
    result = tagcast("config", "set", "channels.bsky.max_hashtags", "-1")
    assert result.exit_code == 1
    assert ">= 0" in result.stderr
    assert config_file.read_text(encoding="utf-8") == COMMENTED
