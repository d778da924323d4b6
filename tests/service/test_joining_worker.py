"""A worker that joins a live cluster must not take the others' backlog for posts missed during downtime."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fakes.webhook import WebhookFake

from scheduler.service.storecalls import StoreCalls
from scheduler.service.workers import WorkerRegistry
from scheduler.store import DeliveryState

from .conftest import Site, article, config_text, real_now
from .processes import tagcast


def queue_a_post_three_hours_late(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    slot = real_now() - timedelta(hours=3)
    site.write_post("a.md", article("A", publish_at=slot.isoformat()))
    site.ingest(slot - timedelta(hours=1))


def test_with_another_worker_alive_a_late_post_is_backlog_and_goes_out(
    site: Site, webhook: WebhookFake
) -> None:
    queue_a_post_three_hours_late(site, webhook)
    calls = StoreCalls()
    other = WorkerRegistry(site.store, calls, "other-worker", host="elsewhere", pid=4242)
    try:
        asyncio.run(other.start())
        done = tagcast("serve", "--once", cwd=site.root)
    finally:
        calls.close()
    assert done.returncode == 0, done.stderr
    assert "other-worker are alive" in done.stderr
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.SENT
    assert len(webhook.deliveries) == 1
    assert not any("downtime" in t.reason for t in site.store.history(delivery.id))


def test_after_real_downtime_the_same_post_is_moved_to_its_next_slot(
    site: Site, webhook: WebhookFake
) -> None:
    queue_a_post_three_hours_late(site, webhook)
    done = tagcast("serve", "--once", cwd=site.root)
    assert done.returncode == 0, done.stderr
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.PLANNED
    assert delivery.scheduled_at > real_now()
    assert any("during downtime" in t.reason for t in site.store.history(delivery.id))
    assert webhook.deliveries == []
