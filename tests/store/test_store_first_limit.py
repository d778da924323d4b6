"""``deliveries.first_limit`` (schema version 8): the first part's own limit (Telegram: a photo's caption)
is stored with a delivery, read back as ``Delivery.limits``, and added to an outbox of version 7, whose rows
get the first limit they were queued under (from their network's adapter and whether their article has
images), and get it again from a planned post queued again. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from sqlalchemy import inspect, text
from store_support import NOW, make_post

from scheduler.adapters.base import Receipt
from scheduler.media.model import ImageRef
from scheduler.models import Post
from scheduler.store import Store, UpsertOutcome
from scheduler.store.migrations import current_version, latest_version
from scheduler.store.schema import schema_version

LEASE = timedelta(minutes=5)
RECEIPT = Receipt(remote_ids=("1", "2", "3"), url=None)
PARTS = ["The caption, with the photo", "A later message", "The last message"]


def captioned(source: str = "posts/a.md", channel: str = "file", *, first_limit: int | None = 200) -> Post:
    """A post of three parts whose first part is held to ``first_limit`` (``limit`` is 500)."""
    return dataclasses.replace(make_post(source, channel, parts=PARTS), first_limit=first_limit)


def test_a_delivery_keeps_the_first_parts_limit_and_lists_each_parts_limit(store: Store) -> None:
    store.upsert(captioned(), now=NOW)
    store.upsert(captioned("posts/b.md", first_limit=None), now=NOW)
    by_source = {d.source: d for d in store.list()}
    a, b = by_source["posts/a.md"], by_source["posts/b.md"]
    assert (a.first_limit, a.limits) == (200, (200, 500, 500))
    assert (b.first_limit, b.limits) == (None, (500, 500, 500))
    assert store.get(a.id).limits == (200, 500, 500)


def test_version_8_adds_first_limit_to_a_version_7_outbox(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(captioned(), now=NOW)
        store.upsert(dataclasses.replace(captioned("posts/sent.md", "other"), scheduled_at=NOW), now=NOW)
        [sent] = store.claim_due(NOW, worker="w", lease=LEASE, limit=2)  # a.md is due an hour later
        store.mark_sent(sent.id, RECEIPT, now=NOW)
        with store.engine.begin() as connection:
            connection.execute(text("ALTER TABLE deliveries DROP COLUMN first_limit"))
            connection.execute(schema_version.update().values(version=7))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 8
            columns = {c["name"]: c for c in inspect(connection).get_columns("deliveries")}
        assert columns["first_limit"]["nullable"]
        before = {d.source: d for d in store.list()}
        assert [d.limits for d in before.values()] == [(500, 500, 500)] * 2, "as they were shown before"

        assert store.upsert(captioned(), now=NOW) is UpsertOutcome.UNCHANGED
        assert store.upsert(captioned("posts/sent.md", "other"), now=NOW) is UpsertOutcome.UNCHANGED
        after = {d.source: d for d in store.list()}
        assert after["posts/a.md"].limits == (200, 500, 500), "a planned one gets it when queued again"
        assert after["posts/a.md"].updated_at == before["posts/a.md"].updated_at
        assert after["posts/sent.md"].first_limit is None, "what was sent is not rewritten"
        assert len(store.history(after["posts/a.md"].id)) == len(store.history(before["posts/a.md"].id))


def telegram(source: str, *, images: bool, limit: int = 4096, network: str = "telegram") -> Post:
    """A Telegram post of three parts, its article with an image or not, queued before schema version 8
    (no ``first_limit``)."""
    post = make_post(source, f"tg-{source}", parts=PARTS)
    article = post.article
    if images:
        article = dataclasses.replace(article, images=(ImageRef("img/ferry.jpg", "The ferry at dawn"),))
    return dataclasses.replace(post, article=article, network=network, limit=limit, first_limit=None)


def test_version_8_gives_the_rows_of_a_version_7_outbox_the_first_limit_they_were_queued_under(
    db_url: str, tmp_path: Path
) -> None:
    """As queueing them would: the adapter's length rules of a post with images when the stored article
    has some (Telegram: the caption, at most 1024, within the channel's limit), sent rows too; a network
    whose adapter is not installed keeps every part against ``limit``."""
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(telegram("posts/photo.md", images=True), now=NOW)
        store.upsert(telegram("posts/short.md", images=True, limit=600), now=NOW)
        store.upsert(telegram("posts/text.md", images=False), now=NOW)
        store.upsert(telegram("posts/other.md", images=True, network="nosuchnetwork"), now=NOW)
        sent = dataclasses.replace(telegram("posts/sent.md", images=True), scheduled_at=NOW)
        store.upsert(sent, now=NOW)
        [claimed] = store.claim_due(NOW, worker="w", lease=LEASE, limit=5)
        store.mark_sent(claimed.id, RECEIPT, now=NOW)
        with store.engine.begin() as connection:
            connection.execute(text("ALTER TABLE deliveries DROP COLUMN first_limit"))
            connection.execute(schema_version.update().values(version=7))
    with Store.open(db_url, root=tmp_path) as store:
        limits = {d.source: (d.state.value, d.first_limit, d.limits) for d in store.list()}
    assert limits == {
        "posts/photo.md": ("planned", 1024, (1024, 4096, 4096)),
        "posts/short.md": ("planned", 600, (600, 600, 600)),
        "posts/text.md": ("planned", None, (4096, 4096, 4096)),
        "posts/other.md": ("planned", None, (4096, 4096, 4096)),
        "posts/sent.md": ("sent", 1024, (1024, 4096, 4096)),
    }
