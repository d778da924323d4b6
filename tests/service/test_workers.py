"""The worker registry: heartbeats in the outbox; periodic work runs once per period in the whole cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.service.storecalls import StoreCalls
from scheduler.service.workers import FORGET_AFTER, WorkerRegistry, silence_limit
from scheduler.store import Store

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outbox.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def cluster(url: str, tmp_path: Path) -> Iterator[tuple[list[WorkerRegistry], Clock]]:
    """Two workers, each with its own connection pool and store thread, on one outbox; one shared clock."""
    clock = Clock()
    stores = [Store.open(url, root=tmp_path) for _ in range(2)]
    calls = [StoreCalls() for _ in stores]
    registries = [
        WorkerRegistry(store, call, f"w{n}", clock=clock, host=f"host{n}", pid=100 + n)
        for n, (store, call) in enumerate(zip(stores, calls, strict=True))
    ]
    yield registries, clock
    for call, store in zip(calls, stores, strict=True):
        call.close()
        store.close()


def test_heartbeats_and_a_clean_stop(cluster: tuple[list[WorkerRegistry], Clock]) -> None:
    (one, two), clock = cluster

    async def scenario() -> None:
        await one.start()
        await two.start()
        clock.now += timedelta(seconds=20)
        await one.beat()
        await two.stop()

    asyncio.run(scenario())
    seen = {w.id: w for w in one.store.workers()}
    assert (seen["w0"].host, seen["w0"].pid, seen["w0"].heartbeat_at) == ("host0", 100, clock.now)
    limit = silence_limit(timedelta(seconds=10))
    assert limit == timedelta(seconds=30)
    assert seen["w0"].alive(clock.now, limit)
    assert seen["w1"].stopped_at == clock.now and not seen["w1"].alive(clock.now, limit)


def test_a_pruned_worker_registers_again_at_its_next_beat(
    cluster: tuple[list[WorkerRegistry], Clock],
) -> None:
    (one, two), clock = cluster

    async def scenario() -> None:
        await one.start()
        await two.start()
        clock.now += FORGET_AFTER + timedelta(minutes=1)
        await two.beat()
        await two.prune()  # one has been silent for a week: forgotten
        assert [w.id for w in two.store.workers()] == ["w1"]
        await one.beat()

    asyncio.run(scenario())
    assert {w.id for w in one.store.workers()} == {"w0", "w1"}


def test_periodic_work_runs_once_per_period_in_the_whole_cluster(
    cluster: tuple[list[WorkerRegistry], Clock],
) -> None:
    (one, two), clock = cluster
    runs: list[str] = []

    def work(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            runs.append(name)

        return run

    async def scenario() -> None:
        period = timedelta(minutes=5)
        for _tick in range(10):  # both workers look every 30 s for five minutes
            for registry in (one, two):
                await registry.run_once_cluster_wide("cleanup", period, work(registry.worker_id))
            clock.now += timedelta(seconds=30)
        assert len(runs) == 1
        await two.run_once_cluster_wide("cleanup", period, work("w1"))
        assert len(runs) == 2

    asyncio.run(scenario())


def test_a_failed_run_is_given_back_and_its_error_raised(cluster: tuple[list[WorkerRegistry], Clock]) -> None:
    (one, two), clock = cluster

    async def broken() -> None:
        raise RuntimeError("feed server down")

    ran: list[str] = []

    async def fine() -> None:
        ran.append("w1")

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="feed server down"):
            await one.run_once_cluster_wide("feeds", timedelta(hours=1), broken)
        clock.now += timedelta(seconds=1)
        assert await two.run_once_cluster_wide("feeds", timedelta(hours=1), fine) is True
        assert await one.run_once_cluster_wide("feeds", timedelta(hours=1), fine) is False

    asyncio.run(scenario())
    assert ran == ["w1"]


def test_a_cancelled_look_gives_a_granted_claim_back(cluster: tuple[list[WorkerRegistry], Clock]) -> None:
    (one, two), _clock = cluster
    ran: list[str] = []

    async def never() -> None:
        raise AssertionError("a cancelled look must not run the work")

    async def fine() -> None:
        ran.append("w1")

    async def scenario() -> None:
        look = asyncio.create_task(one.run_once_cluster_wide("feeds", timedelta(hours=1), never))
        await asyncio.sleep(0)  # it is waiting for the store's answer now
        look.cancel()
        with pytest.raises(asyncio.CancelledError):
            await look
        await one.given_back()  # the claim granted meanwhile is given back, then two may run it
        assert await two.run_once_cluster_wide("feeds", timedelta(hours=1), fine) is True

    asyncio.run(scenario())
    assert ran == ["w1"]
