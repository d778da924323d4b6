"""The misfire policy after a long downtime with thousands of late posts: one transaction per page of them,
each post handled exactly once with its history line (sent late within the grace, else moved to its
channel's next free slot, in order), a post changed meanwhile left as it is, and a log that names the first
few and sums up the rest."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import event
from store.store_support import make_post

from scheduler.config.durations import format_duration
from scheduler.pipeline import Pipeline
from scheduler.service.recovery import PAGE, SHOWN, MisfireReport, apply_misfire_policy
from scheduler.service.runner import Service
from scheduler.store import Delivery, DeliveryConflict, DeliveryState, Reslot, Store

from .conftest import Site, article, config_text

LATE = 5000
CHANNELS = [f"c{n}" for n in range(10)]
QUEUED = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
"""The service starts again at this instant (Monday noon) after a downtime."""
SLOTS = {time(9, 0), time(13, 0), time(18, 0)}


def late_by(index: int) -> timedelta:
    """Even posts missed their slot by 2m-18m40s (within the 30m grace), odd ones by 1h-6h."""
    if index % 2 == 0:
        return timedelta(seconds=120 + (index * 7) % 1000)
    return timedelta(hours=1, seconds=(index * 13) % 18000)


@pytest.fixture
def late_site(site: Site) -> Site:
    """A workspace of file channels whose outbox holds :data:`LATE` planned posts whose slots passed."""
    channels = {name: {"network": "file"} for name in CHANNELS}
    site.write_config(config_text(channels, service={"misfire_grace": "30m"}))
    store = site.store
    with store.transaction():  # one commit for the fixture
        for index in range(LATE):
            post = make_post(
                f"posts/p{index:04d}.md", CHANNELS[index // 2 % len(CHANNELS)], at=START - late_by(index)
            )
            store.upsert(post, now=QUEUED)
    return site


def everything(store: Store) -> list[Delivery]:
    return store.list(limit=LATE + 1)


@pytest.fixture
def commits(late_site: Site) -> Iterator[list[int]]:
    """Counts the outbox's commits (SQLAlchemy's own event: each is one disk flush)."""
    seen: list[int] = []

    def count(_connection: object) -> None:
        seen.append(1)

    event.listen(late_site.store.engine, "commit", count)
    yield seen
    event.remove(late_site.store.engine, "commit", count)


def misfire(site: Site, now: datetime) -> MisfireReport:
    workspace = site.workspace
    return apply_misfire_policy(site.store, Pipeline(workspace), workspace.settings, now=now)


def test_5000_late_posts_are_each_handled_once_with_one_commit_per_page(
    late_site: Site, commits: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    store = late_site.store
    before = {d.id: d for d in everything(store)}
    assert len(before) == LATE and all(d.scheduled_at < START for d in before.values())

    with caplog.at_level(logging.INFO, logger="tagcast.service"):
        report = misfire(late_site, START)

    assert len(commits) == LATE // PAGE  # 25 transactions, not 5,000
    assert (len(report.late), len(report.moved), report.stuck, report.changed) == (
        LATE // 2,
        LATE // 2,
        {},
        {},
    )
    after = {d.id: d for d in everything(store)}
    for delivery_id, old in before.items():
        new = after[delivery_id]
        history = store.history(delivery_id)
        assert [t.to_state for t in history] == [DeliveryState.PLANNED, DeliveryState.PLANNED]
        missed = format_duration(START - old.scheduled_at)
        if delivery_id in report.late:
            assert new.scheduled_at == old.scheduled_at  # it goes out now, late
            assert history[-1].reason == (
                f"missed by {missed} during downtime (within service.misfire_grace = 30m): goes out late"
            )
        else:
            assert new.scheduled_at == report.moved[delivery_id] and new.scheduled_at > START
            assert new.scheduled_at.time() in SLOTS
            assert history[-1].reason == (
                f"missed by {missed} during downtime (more than service.misfire_grace = 30m); "
                f"moved to the next free slot {new.scheduled_at.isoformat()}"
            )
        assert history[-1].at == START and new.state is DeliveryState.PLANNED

    for channel in CHANNELS:  # the moved posts of a channel keep their order, one per slot, from 13:00 on
        moved = sorted(
            (before[i].scheduled_at, after[i].scheduled_at)
            for i in report.moved
            if after[i].channel == channel
        )
        slots = [new for _, new in moved]
        assert slots == sorted(slots) and len(set(slots)) == len(slots) == LATE // 2 // len(CHANNELS)
        assert slots[0] == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)

    lines = [r for r in caplog.records if "during downtime" in r.getMessage()]
    assert len(lines) == SHOWN + 1 and all(r.levelno == logging.WARNING for r in lines)
    assert lines[-1].getMessage() == (
        f"... and {LATE - SHOWN} more post(s) missed during downtime ({LATE} in all: "
        f"{LATE // 2} go out late, {LATE // 2} moved to their channel's next free slot); "
        "`tagcast queue show ID` says which for each"
    )


def test_a_post_cancelled_edited_or_rescheduled_meanwhile_is_left_as_it_is(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    for name in "abcd":
        site.write_post(f"{name}.md", article(name.upper(), publish_at="2026-01-05T09:00:00Z"))
    site.ingest(QUEUED)
    store = site.store
    read = {d.title: d for d in store.late_planned(START)}  # what the misfire policy read
    assert sorted(read) == ["A", "B", "C", "D"]
    slot = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    rows = [Reslot.of(read[title], slot, f"moved {title} for the test") for title in "ABCD"]
    rows.append(Reslot("d_gone", slot, "moved a delivery that is gone", START))

    meanwhile = START + timedelta(seconds=1)
    store.cancel(read["A"].id, now=meanwhile)  # `tagcast queue cancel` in another process
    site.write_post("b.md", article("B", publish_at="2026-01-05T09:00:00Z", body="B, edited."))
    site.ingest(meanwhile)  # the edit is read
    operator_slot = datetime(2026, 1, 9, 18, 0, tzinfo=UTC)
    store.reschedule(read["C"].id, operator_slot, now=meanwhile)  # `tagcast queue reschedule`

    refused = store.reschedule_many(rows, now=START + timedelta(seconds=2))

    a, b, c, d = (read[title].id for title in "ABCD")
    assert sorted(refused) == sorted([a, b, c, "d_gone"])
    assert all(isinstance(why, DeliveryConflict) for why in refused.values())
    assert str(refused[a]).startswith(
        f"cannot reschedule delivery {a}: it is cancelled (only planned can be)"
    )
    for changed in (b, c):
        assert str(refused[changed]).startswith(
            f"delivery {changed} changed while it was being moved from planned to planned"
        )
    assert str(refused["d_gone"]).startswith("delivery d_gone is gone")
    assert store.get(a).state is DeliveryState.CANCELLED
    assert store.history(a)[-1].reason == "cancelled by the operator"
    edited = store.get(b)
    assert edited.scheduled_at == read["B"].scheduled_at and "B, edited." in edited.parts[0]
    assert store.history(b)[-1].reason.startswith("text updated")
    assert store.get(c).scheduled_at == operator_slot
    assert store.history(c)[-1].reason.startswith("rescheduled by the operator")
    assert store.get(d).scheduled_at == slot
    assert [t.reason for t in store.history(d)][-1] == "moved D for the test"
    assert len(store.history(d)) == 2


def test_after_downtime_the_service_sends_each_late_post_once_and_keeps_the_moved_ones(
    late_site: Site,
) -> None:
    store = late_site.store

    def start(now: datetime) -> None:
        worker = f"after-downtime-{now:%H%M}"
        service = Service(late_site.workspace, store, worker_id=worker, clock=lambda: now)
        try:
            assert asyncio.run(service.run(once=True)) == 0
        finally:
            gc.unfreeze()  # the service froze what it had built (a process of its own does): give it back

    start(START)
    outbox = late_site.root / "var" / "outbox"
    written = Counter(path.stem for path in outbox.glob("*/*.json"))
    deliveries = everything(store)
    sent = {d.id for d in deliveries if d.state is DeliveryState.SENT}
    planned = {d.id: d for d in deliveries if d.state is DeliveryState.PLANNED}
    assert len(sent) == len(planned) == LATE // 2
    assert set(written) == sent and set(written.values()) == {1}
    assert all(d.scheduled_at > START for d in planned.values())

    start(START + timedelta(minutes=5))  # a second start: nothing is late any more
    assert Counter(path.stem for path in outbox.glob("*/*.json")) == written
    for delivery in deliveries:
        history = store.history(delivery.id)
        downtime = [t.reason for t in history if "during downtime" in t.reason]
        assert len(downtime) == 1 and downtime[0].endswith("goes out late") == (delivery.id in sent)
        assert [t.to_state for t in history].count(DeliveryState.SENT) == (delivery.id in sent)
