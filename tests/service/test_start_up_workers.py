"""Start-up reads the workers of the outbox (the previous run, the leftovers of dead workers): with
``serve --once`` from cron, a row is added at every start and no housekeeping tick ever prunes them, so the
start prunes them too (once an hour across the cluster), and what it reads stays bounded."""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta

from scheduler.service.runner import Service
from scheduler.service.workers import FORGET_AFTER

from .conftest import Site, config_text

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def once(site: Site, now: datetime, worker: str) -> None:
    service = Service(site.workspace, site.store, worker_id=worker, clock=lambda: now)
    try:
        assert asyncio.run(service.run(once=True)) == 0
    finally:
        gc.unfreeze()  # the service froze what it had built (a process of its own does): give it back


def test_serve_once_forgets_workers_silent_for_a_week(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    store = site.store
    old = START - FORGET_AFTER - timedelta(hours=1)
    with store.transaction():
        for n in range(300):  # a cron job's --once runs, every minute, more than a week ago
            store.register_worker(f"cron-{n}", host="elsewhere", pid=10 + n, now=old - timedelta(minutes=n))
            store.stop_worker(f"cron-{n}", now=old - timedelta(minutes=n))
    store.register_worker("yesterday", host="elsewhere", pid=5, now=START - timedelta(days=1))
    store.stop_worker("yesterday", now=START - timedelta(days=1))

    once(site, START, "first")
    assert sorted(w.id for w in store.workers()) == ["first", "yesterday"]

    store.register_worker("cron-late", host="elsewhere", pid=7, now=old)
    once(site, START + timedelta(minutes=1), "second")  # pruned less than an hour ago: not again
    assert sorted(w.id for w in store.workers()) == ["cron-late", "first", "second", "yesterday"]
    once(site, START + timedelta(hours=1, minutes=1), "third")
    assert sorted(w.id for w in store.workers()) == ["first", "second", "third", "yesterday"]
