"""Edits of an article: before its slot the queued text changes (same delivery, same key); while a post of
its channel is in flight the ones behind it can still be edited and cancelled; after it was sent nothing is
posted again. And the watcher that notices edits."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fakes.webhook import GUARD, HeldWebhook, WebhookFake

from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.watch import FilesWatch, FolderWatch
from scheduler.store import DeliveryState

from .conftest import Site, article, config_text, dispatch, real_now
from .processes import tagcast

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


def test_while_a_post_is_in_flight_the_ones_behind_it_can_be_edited_and_cancelled(site: Site) -> None:
    """Three posts of one channel are due; the receiver holds the first. Meanwhile the third is edited and the
    second cancelled with ``tagcast queue cancel``: both were still planned, so the edit is what goes out and
    the cancelled post never does."""
    with HeldWebhook().running() as held:
        assert isinstance(held, HeldWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": held.url}}))
        start = real_now()
        due = [(start + timedelta(minutes=m)).isoformat(timespec="seconds") for m in (10, 20, 30)]
        for number, at in enumerate(due):
            site.write_post(
                f"p{number}.md", article(f"Post {number}", publish_at=at, body=f"Draft {number}.")
            )
        site.ingest(start)
        first, second, third = sorted(site.store.list(), key=lambda d: d.scheduled_at)

        async def scenario() -> DispatchReport:
            async with httpx.AsyncClient(timeout=30) as http:
                later = start + timedelta(hours=1)  # all three are due
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="w1", clock=lambda: later)
                round_ = asyncio.create_task(dispatcher.run_due(later))
                try:
                    assert await asyncio.to_thread(held.arrived.wait, GUARD)  # the first is in flight
                    assert [d.id for d in site.store.list(states=[DeliveryState.SENDING])] == [first.id]
                    site.write_post("p2.md", article("Post 2", publish_at=due[2], body="Corrected."))
                    assert site.ingest(start).counts() == {"unchanged": 2, "updated": 1}
                    cancelled = await asyncio.to_thread(tagcast, "queue", "cancel", second.id, cwd=site.root)
                    assert cancelled.returncode == 0, cancelled.stderr
                    held.release.set()
                    return await round_
                finally:
                    held.release.set()
                    await asyncio.gather(round_, return_exceptions=True)
                    dispatcher.calls.close()

        report = asyncio.run(scenario())
    assert report.outcomes == {first.id: "sent", third.id: "sent"}
    assert [d.body["parts"][0] for d in held.deliveries] == [
        first.parts[0],
        site.store.get(third.id).parts[0],
    ]
    assert "Corrected." in held.deliveries[1].body["parts"][0]
    assert site.store.get(second.id).state is DeliveryState.CANCELLED


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
