"""Edits of an article: before its slot the queued text changes (same delivery, same key); after it was sent
nothing is posted again. And the watcher that notices edits."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.webhook import WebhookFake

from scheduler.service.watch import FilesWatch, FolderWatch
from scheduler.store import DeliveryState

from .conftest import Site, article, config_text, dispatch

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_an_edit_before_the_slot_is_what_gets_sent(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z", body="The first draft."))
    site.ingest(T0)
    [before] = site.store.list()

    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z", body="The corrected text."))
    report = site.ingest(T0 + timedelta(minutes=30))
    assert report.counts() == {"updated": 1}
    [after] = site.store.list()
    assert (after.id, after.idempotency_key, after.scheduled_at) == (before.id, before.idempotency_key, NINE)
    assert "The corrected text." in after.parts[0]

    dispatch(site.workspace, site.store, NINE)
    [received] = webhook.deliveries
    assert received.body["parts"] == list(after.parts)
    assert "first draft" not in received.raw.decode()


def test_an_edit_after_it_was_sent_is_never_posted_again(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z", body="As published."))
    site.ingest(T0)
    dispatch(site.workspace, site.store, NINE)

    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z", body="Edited afterwards."))
    report = site.ingest(NINE + timedelta(hours=1))
    assert report.counts() == {"already-sent": 1}
    assert dispatch(site.workspace, site.store, NINE + timedelta(days=3)).claimed == 0
    assert len(webhook.requests) == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.SENT and "As published." in delivery.parts[0]


def touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # a later mtime, surely


def test_the_folder_watch_reports_new_and_edited_articles(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "a.md").write_text("a", encoding="utf-8")
    (posts / "notes.xyz").write_text("not an article", encoding="utf-8")
    watch = FolderWatch(posts)
    assert watch.files == [posts / "a.md"] and watch.changes() == []

    touch(posts / "a.md", "a, edited")
    (posts / "sub").mkdir()
    (posts / "sub" / "b.txt").write_text("b", encoding="utf-8")
    (posts / "notes.xyz").write_text("still not an article", encoding="utf-8")
    assert watch.changes() == [posts / "a.md", posts / "sub" / "b.txt"]
    assert watch.changes() == []
    (posts / "a.md").unlink()
    assert watch.changes() == []  # a deleted article changes nothing queued


def test_the_config_watch_sees_the_file_the_env_and_templates(tmp_path: Path) -> None:
    config = tmp_path / "tagcast.toml"
    config.write_text("version = 1\n", encoding="utf-8")
    templates = tmp_path / "templates"
    templates.mkdir()
    watch = FilesWatch([config, tmp_path / ".env"], [templates])
    assert not watch.changed()
    (tmp_path / ".env").write_text("TAGCAST_X=1\n", encoding="utf-8")
    assert watch.changed() and not watch.changed()
    (templates / "x.j2").write_text("{{ title }}", encoding="utf-8")
    assert watch.changed()
    touch(config, "version = 1\n# edited\n")
    assert watch.changed() and not watch.changed()
