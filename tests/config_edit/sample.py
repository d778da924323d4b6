"""The config used by the editing tests: every kind of TOML layout, with comments everywhere."""

from __future__ import annotations

from collections.abc import Callable

from typer.testing import Result

COMMENTED = """\
# tagcast config used by the editing tests: every kind of TOML layout, with comments everywhere.
version = 1   # the format version

# Where the outbox lives.
[store]
url = "sqlite:///var/tagcast.db"   # outbox

[defaults]
schedule = "daily"     # default schedule
channels = ["file"]    # fallback channels

[hashtags]
aliases = { ww2 = "WorldWarII" }   # inline table
blocklist = [
    "spam",   # a multi-line array
    "junk",
]

[schedules.daily]
timezone = "Europe/Berlin"   # zone
slots = ["daily 09:00", "daily 18:30"]
min_gap = "2h"
quiet_dates = [2026-12-25]

# The weekday schedule.
[schedules.weekdays]
timezone = "America/New_York"
slots = ["mon-fri 08:30"]

# Channels below.
[channels.file]
network = "file"   # local folder
schedule = "daily"

# Bluesky: the password comes from the environment.
# A second comment line.
[channels.bsky]
network = "bluesky"
handle = "alice.test"   # the account
max_hashtags = 3

# Rules route by hashtag.
[[rules]]
name = "history"   # first rule
tags = ["History"]
channels = ["file", "bsky"]

# The second rule.
[[rules]]
name = "science"
tags = ["Science"]
channels = ["bsky"]
priority = 2   # higher first
"""

Invoke = Callable[..., Result]
