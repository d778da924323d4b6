"""The APScheduler clock: one date job re-armed at the next due time, one interval job, both with an explicit
misfire grace and coalescing; and a slot in a DST gap dispatched at the right instant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fakes.webhook import WebhookFake

from scheduler.service.clock import DISPATCH_JOB, WATCH_JOB, Clock

from .conftest import Site, article, config_text, dispatch


def test_jobs_coalesce_and_have_an_explicit_misfire_grace() -> None:
    async def go() -> None:
        clock = Clock(watch_interval=timedelta(seconds=10))
        clock.start()
        at = datetime(2030, 3, 10, 7, 0, tzinfo=UTC)
        clock.arm(at)
        jobs = {job.id: job for job in clock.jobs()}
        assert set(jobs) == {DISPATCH_JOB, WATCH_JOB}
        assert all(job.coalesce for job in jobs.values())
        assert jobs[DISPATCH_JOB].misfire_grace_time is None  # a late wake-up still runs
        assert jobs[WATCH_JOB].misfire_grace_time == 10
        assert jobs[DISPATCH_JOB].next_run_time == at
        clock.arm(at + timedelta(hours=1))  # re-armed: still one dispatch job
        assert [job.id for job in clock.jobs()].count(DISPATCH_JOB) == 1
        clock.arm(None)
        assert [job.id for job in clock.jobs()] == [WATCH_JOB]
        await clock.shutdown()

    asyncio.run(go())


def test_the_dispatch_job_wakes_the_dispatcher_and_the_watch_job_repeats() -> None:
    async def go() -> None:
        clock = Clock(watch_interval=timedelta(seconds=0.1))
        clock.start()
        clock.arm(datetime.now(UTC) + timedelta(seconds=0.2))
        await asyncio.wait_for(clock.dispatch_due.wait(), timeout=10)
        assert clock.armed_at is None and DISPATCH_JOB not in [job.id for job in clock.jobs()]
        for _ in range(2):
            clock.watch_due.clear()
            await asyncio.wait_for(clock.watch_due.wait(), timeout=10)
        clock.arm(datetime.now(UTC) - timedelta(hours=3))  # a past time: wakes at once
        clock.dispatch_due.clear()
        await asyncio.wait_for(clock.dispatch_due.wait(), timeout=10)
        await clock.shutdown()

    asyncio.run(go())


def test_a_slot_in_the_spring_gap_goes_out_at_the_end_of_the_gap(site: Site, webhook: WebhookFake) -> None:
    # 02:30 does not exist in New York on 2026-03-08: clocks jump from 02:00 EST to 03:00 EDT (07:00 UTC).
    site.write_config(
        config_text(
            {"hook": {"network": "webhook", "url": webhook.url}},
            timezone="America/New_York",
            slots=("daily 02:30",),
        )
    )
    site.write_post("p.md", article("Gap"))
    site.ingest(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))
    [delivery] = site.store.list()
    end_of_gap = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert delivery.scheduled_at == end_of_gap
    assert delivery.local_scheduled_at.isoformat() == "2026-03-08T03:00:00-04:00"
    assert site.store.next_due(datetime(2026, 3, 7, 12, 0, tzinfo=UTC)) == end_of_gap

    assert dispatch(site.workspace, site.store, end_of_gap - timedelta(seconds=1)).claimed == 0
    assert dispatch(site.workspace, site.store, end_of_gap).count("sent") == 1
    assert len(webhook.deliveries) == 1


def test_a_slot_in_the_autumn_overlap_goes_out_once_at_its_first_occurrence(
    site: Site, webhook: WebhookFake
) -> None:
    # 01:30 happens twice in New York on 2026-11-01 (EDT, then EST): the first one, 05:30 UTC.
    site.write_config(
        config_text(
            {"hook": {"network": "webhook", "url": webhook.url}},
            timezone="America/New_York",
            slots=("daily 01:30",),
        )
    )
    site.write_post("p.md", article("Overlap"))
    site.ingest(datetime(2026, 10, 31, 12, 0, tzinfo=UTC))
    [delivery] = site.store.list()
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert delivery.scheduled_at == first
    assert dispatch(site.workspace, site.store, first).count("sent") == 1
    assert dispatch(site.workspace, site.store, first + timedelta(hours=1)).claimed == 0
    assert len(webhook.deliveries) == 1
