"""A renamed article in a running service: the folder watcher reports only the new file, the delivery follows
it, and nothing reaches the network a second time (a copy neither)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from fakes.webhook import WebhookFake

from scheduler.ingest import ingest
from scheduler.service.watch import FolderWatch
from scheduler.store import DeliveryState, UpsertOutcome

from .conftest import Site, article, config_text, dispatch

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_sent_article_renamed_or_copied_while_serving_is_not_posted_again(
    site: Site, webhook: WebhookFake
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z", body="Sent once."))
    watch = FolderWatch(site.root / "posts")
    site.ingest(T0)
    assert dispatch(site.workspace, site.store, NINE).count("sent") == 1

    (site.root / "posts" / "p.md").rename(site.root / "posts" / "2026-01-post.md")
    changed = watch.changes()
    assert [path.name for path in changed] == ["2026-01-post.md"]  # the watcher never reports the old name
    [item] = ingest(site.workspace, site.store, changed, now=NINE + timedelta(hours=1)).items
    assert item.outcome is UpsertOutcome.RENAMED

    shutil.copy(site.root / "posts" / "2026-01-post.md", site.root / "posts" / "copy.md")
    [item] = ingest(site.workspace, site.store, watch.changes(), now=NINE + timedelta(hours=2)).items
    assert item.outcome is UpsertOutcome.DUPLICATE

    assert dispatch(site.workspace, site.store, NINE + timedelta(days=3)).claimed == 0
    assert len(webhook.requests) == 1
    [delivery] = site.store.list()
    assert (delivery.source, delivery.state) == ("posts/2026-01-post.md", DeliveryState.SENT)
