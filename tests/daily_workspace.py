"""The workspace config several CLI and dashboard tests start from: one ``file`` channel posting at 09:00 and
18:00 Berlin time through ``post.j2``, an SQLite outbox in ``var/``.
A test adds its own channels and rules."""

from __future__ import annotations

DAILY_CONFIG = """\
version = 1

[store]
url = "sqlite:///var/tagcast.db"

[defaults]
timezone = "Europe/Berlin"
schedule = "daily"
channels = ["file"]

[schedules.daily]
timezone = "Europe/Berlin"
slots = ["daily 09:00", "daily 18:00"]

[channels.file]
network = "file"
template = "post.j2"
"""
