"""A workspace whose queue holds a Telegram thread with an image (its first part a photo's caption, held to
1024; its later parts messages, held to 4096) and a Mastodon post, for the tests of what the queue views
show (``queue list/show``, the dashboard's delivery card)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.store import Store

CAPTION = 1024
"""Telegram's limit of a photo's caption (``scheduler.adapters.telegram.CAPTION_LIMIT``)."""
MESSAGE = 4096
"""Telegram's limit of a message."""
TOOT = 500
"""Mastodon's default limit."""

CONFIG = """\
version = 1

[store]
url = "sqlite:///var/tagcast.db"

[defaults]
timezone = "Europe/Berlin"
schedule = "daily"
channels = ["tg"]

[schedules.daily]
timezone = "Europe/Berlin"
slots = ["daily 09:00", "daily 18:00"]

[channels.tg]
network = "telegram"
chat_id = "@tagcastnews"
thread = true

[channels.masto]
network = "mastodon"
base_url = "https://social.example"

[[rules]]
name = "crossings"
tags = ["History"]
channels = ["tg"]

[[rules]]
name = "notes"
tags = ["Notes"]
channels = ["masto"]
"""

SENTENCES = [
    f"Day {n}: the ferry (No. {n}) crossed the river at dawn, and the town watched it go!" for n in range(70)
]
CROSSING = (
    "---\ntitle: The river crossing\ntags: [History]\nimage: img/ferry.jpg\nimage_alt: The ferry at dawn\n"
    "---\n\n" + " ".join(SENTENCES) + "\n"
)
NOTE = "---\ntitle: A short note\ntags: [Notes]\n---\n\nThe ferry runs again from Monday.\n"


def write_caption_workspace(root: Path) -> Path:
    """``root`` as a workspace with ``posts/crossing.md`` (for ``tg``, with ``img/ferry.jpg``) and
    ``posts/note.md`` (for ``masto``)."""
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "posts" / "img").mkdir(parents=True, exist_ok=True)
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    Image.new("RGB", (96, 64), "teal").save(root / "posts" / "img" / "ferry.jpg")
    (root / "posts" / "crossing.md").write_text(CROSSING, encoding="utf-8")
    (root / "posts" / "note.md").write_text(NOTE, encoding="utf-8")
    return root


# --- the same queue in an outbox of schema version 7 (before deliveries.first_limit) -----------------------

QUEUED_AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
SENT_AT = QUEUED_AT + timedelta(minutes=30)
"""When the Telegram thread with an image was sent (its ``publish_at``)."""
PLAIN = "---\ntitle: Ferry timetable\ntags: [Timetable]\n---\n\nThe ferry runs every hour from Monday.\n"
PLAIN_CONFIG = """
[channels.tg2]
network = "telegram"
chat_id = "@tagcasttimes"

[[rules]]
name = "timetable"
tags = ["Timetable"]
channels = ["tg2"]
"""


def write_version_7_outbox(root: Path) -> Path:
    """``root`` as the caption workspace plus ``posts/plain.md`` (for ``tg2``: a Telegram post without an
    image), queued at :data:`QUEUED_AT` by ``tagcast queue add``, the thread with an image sent at
    :data:`SENT_AT`, and the outbox then taken back to schema version 7: no ``first_limit`` column."""
    write_caption_workspace(root)
    (root / "config" / "tagcast.toml").write_text(CONFIG + PLAIN_CONFIG, encoding="utf-8")
    crossing = CROSSING.replace("tags:", f"publish_at: {SENT_AT.isoformat()}\ntags:", 1)
    (root / "posts" / "crossing.md").write_text(crossing, encoding="utf-8")
    (root / "posts" / "plain.md").write_text(PLAIN, encoding="utf-8")
    added = CliRunner().invoke(app, ["queue", "add", "--now", QUEUED_AT.isoformat(), "--config", str(root)])
    assert added.exit_code == 0, added.output
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        [sent] = store.claim_due(SENT_AT, worker="w", lease=timedelta(minutes=5), limit=5)
        assert sent.channel == "tg"
        store.mark_sent(sent.id, Receipt(remote_ids=("1", "2", "3"), url=None), now=SENT_AT)
    with closing(sqlite3.connect(root / "var" / "tagcast.db")) as raw, raw:
        raw.execute("ALTER TABLE deliveries DROP COLUMN first_limit")
        raw.execute("UPDATE schema_version SET version = 7")
    return root
