"""The daily digest: what went out in the last 24 hours with the links the networks answered, sent through
the alert channels, and armed as a daily cron job on the service's clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from store.store_support import make_post

from scheduler.adapters.base import Receipt
from scheduler.alerts.digest import digest_text
from scheduler.service.clock import DAILY_GRACE, Clock
from scheduler.service.monitor import DIGEST_JOB, Monitor
from scheduler.store import Store

from .conftest import alerts_table, workspace_with

CONFIG = (
    '[channels.file]\nnetwork = "file"\n[channels.masto]\nnetwork = "mastodon"\nbase_url = "https://m.example"\n'
    '[channels.ops]\nnetwork = "file"\n'
    + alerts_table(["ops"])
    + '[alerts.digest]\nat = "08:30"\ntimezone = "Europe/Berlin"\n'
)


def sent_one(store: Store, source: str, channel: str, url: str, now: datetime) -> None:
    delivery = store.upsert_result(make_post(source, channel, at=now - timedelta(hours=3)), now=now).delivery
    assert delivery is not None
    [claimed] = store.claim_due(now, worker="w", lease=timedelta(minutes=5), limit=1)
    store.mark_sent(claimed.id, Receipt(("remote-1",), url), now=now)


def test_the_digest_lists_what_went_out_with_links_and_what_needs_a_person(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "ws", CONFIG)
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=workspace.root) as store:
        sent_one(store, "posts/a.md", "masto", "https://m.example/@me/1", now)
        sent_one(store, "posts/b.md", "file", "file:///outbox/b.txt", now)
        store.upsert(make_post("posts/c.md", "masto", at=now - timedelta(hours=1)), now=now)
        [stuck] = store.claim_due(now, worker="w", lease=timedelta(minutes=5), limit=1)
        store.mark_failed(stuck.id, reason="422", now=now)

        monitor = Monitor(workspace, store, worker_id="w", host="box")

        async def go() -> bool:
            await monitor.start(lambda: None)
            try:
                return await monitor.send_digest()
            finally:
                await monitor.stop()

        assert asyncio.run(go())
    [written] = list((workspace.root / "var" / "outbox" / "ops").glob("alert-*.txt"))
    text = written.read_text(encoding="utf-8")
    assert text.startswith("tagcast on box: daily digest, ") and "(Europe/Berlin)" in text
    assert "2 posts went out" in text
    assert "masto (1):\n- A title: https://m.example/@me/1" in text
    assert "file (1):\n- A title: file:///outbox/b.txt" in text
    assert text.rstrip().endswith("needs a person: 1 failed (tagcast status)")


def test_a_quiet_day_says_so() -> None:
    now = datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
    text = digest_text(
        [], {}, since=now - timedelta(days=1), until=now, zone=ZoneInfo("Europe/Berlin"), host="box"
    )
    assert text == (
        "tagcast on box: daily digest, 2026-03-08 08:30 to 2026-03-09 08:30 (Europe/Berlin)\nnothing went out"
    )


def test_the_digest_is_a_daily_cron_job_on_the_clock_that_coalesces(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "ws", CONFIG)

    async def once(name: str, period: timedelta, work: object) -> bool:
        return False

    async def go() -> None:
        clock = Clock(watch_interval=timedelta(seconds=10))
        clock.start()
        with Store.open("sqlite:///var/tagcast.db", root=workspace.root) as store:
            monitor = Monitor(workspace, store, worker_id="w")
            await monitor.start(clock.problem)
            try:
                monitor.arm_digest(clock, once)
                [job] = [job for job in clock.jobs() if job.id == DIGEST_JOB]
                assert job.coalesce is True and job.misfire_grace_time == DAILY_GRACE
                assert str(job.trigger.timezone) == "Europe/Berlin"
                fields = {field.name: str(field) for field in job.trigger.fields}
                assert (fields["hour"], fields["minute"]) == ("8", "30")
                assert clock.problem() is None
            finally:
                await monitor.stop()
                await clock.shutdown()
        assert clock.problem() == "the clock (APScheduler) is not running"

    asyncio.run(go())
