"""Write ``outbox-v2.sqlite``: an outbox made by tagcast at schema version 2 (commit 4cbfd1f, before article
identities), for ``test_store_migrations.py``. Not a test; run it with THAT tagcast on the path::

    git archive 4cbfd1f | tar -x -C /tmp/tagcast-v2
    PYTHONPATH=/tmp/tagcast-v2 python tests/store/data/make_outbox_v2.py tests/store/data/outbox-v2.sqlite

The workspace it queues (``CONFIG`` and ``POSTS``) is the one the test writes around that file; the test
imports them from here.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.adapters.base import Receipt
from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.store import Store

CONFIG = """\
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
"""
POSTS = {
    "alpha.md": "---\ntitle: Alpha story\nurl: https://example.org/alpha\n---\n\nThe first body.\n",
    "bravo.md": "---\ntitle: Bravo story\nurl: https://example.org/bravo\n---\n\nThe second body.\n",
    "note.md": "---\ntitle: A short note\n---\n\nNothing to link to.\n",
}
NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "config").mkdir()
        (root / "posts").mkdir()
        (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
        for name, text in POSTS.items():
            (root / "posts" / name).write_text(text, encoding="utf-8")
        workspace = load_workspace(str(root))
        with Store.open("sqlite:///var/tagcast.db", root=root) as store:
            ingest(workspace, store, now=NOW)
            alpha = store.find("posts/alpha.md", "file")
            assert alpha is not None
            store.claim_due(alpha.scheduled_at, worker="v2", lease=timedelta(minutes=5), limit=1)
            store.mark_sent(alpha.id, Receipt(remote_ids=("1",)), now=alpha.scheduled_at)
        database = sqlite3.connect(root / "var" / "tagcast.db")
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        database.execute("PRAGMA journal_mode=DELETE")
        database.execute("VACUUM")
        database.close()
        shutil.copyfile(root / "var" / "tagcast.db", out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
