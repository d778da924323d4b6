"""A workspace whose queue holds a Telegram thread with an image (its first part a photo's caption, held to
1024; its later parts messages, held to 4096) and a Mastodon post, for the tests of what the queue views
show (``queue list/show``, the dashboard's delivery card)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

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
