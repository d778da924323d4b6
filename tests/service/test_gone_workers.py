"""A worker of this machine whose process is gone (killed, crashed) does not make its posts wait for its
leases: the next start reconciles them at once. One whose process still runs keeps them until they end."""

from __future__ import annotations

import socket
from datetime import timedelta

from fakes.webhook import WebhookFake

from scheduler.store import Delivery, DeliveryState

from .conftest import Site, article, config_text, real_now, reaped_pid
from .processes import tagcast

LEASE = timedelta(minutes=10)


def claimed_by(site: Site, webhook: WebhookFake, worker: str, pid: int) -> Delivery:
    """A due post of this host's ``worker`` (process ``pid``), claimed with a long lease and never sent."""
    site.write_config(
        config_text({"hook": {"network": "webhook", "url": webhook.url}}, service={"lease": "10m"})
    )
    now = real_now()
    site.write_post("a.md", article("A", publish_at=(now - timedelta(minutes=1)).isoformat()))
    site.ingest(now - timedelta(minutes=2))
    site.store.register_worker(worker, host=socket.gethostname(), pid=pid, now=now)
    [delivery] = site.store.claim_due(now, worker=worker, lease=LEASE, limit=1)
    return delivery


def test_the_posts_of_a_gone_worker_are_reconciled_at_the_next_start(
    site: Site, webhook: WebhookFake
) -> None:
    delivery = claimed_by(site, webhook, "killed-worker", reaped_pid())
    done = tagcast("serve", "--once", cwd=site.root)
    assert done.returncode == 0, done.stderr
    assert "worker(s) killed-worker of this host are gone: their 1 delivery(ies)" in done.stderr
    assert site.store.get(delivery.id).state is DeliveryState.SENT
    assert len(webhook.deliveries) == 1
    reasons = [t.reason for t in site.store.history(delivery.id)]
    assert any(reason.startswith("lease of killed-worker expired") for reason in reasons)


def test_the_posts_of_a_running_worker_wait_for_its_leases(
    site: Site, webhook: WebhookFake, live_pid: int
) -> None:
    delivery = claimed_by(site, webhook, "busy-worker", live_pid)
    done = tagcast("serve", "--once", cwd=site.root)
    assert done.returncode == 0, done.stderr
    assert "are gone" not in done.stderr
    held = site.store.get(delivery.id)
    assert (held.state, held.claimed_by) == (DeliveryState.SENDING, "busy-worker")
    assert webhook.deliveries == []
