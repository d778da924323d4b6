"""This worker among many: its heartbeat in the outbox, and work that runs once per period across all workers.

Any number of ``tagcast serve`` processes may share one outbox (PostgreSQL; or one SQLite file on one
machine). Sending needs no help from here: claims (:meth:`Store.claim_due`) already hand each delivery to one
worker, one channel to one worker at a time, and expired leases to one reconciler. This module adds

- a heartbeat, so that ``tagcast status`` can list the workers seen recently and what each holds;
- :meth:`WorkerRegistry.run_once_cluster_wide`, for work that must run once per period for the whole cluster,
  not once per worker (feed polling, recycling, clean-up): a PostgreSQL advisory lock plus a ``periodic_runs``
  row, or on SQLite a claim row with an expiry (:mod:`scheduler.store.cluster_ops`).

How the service uses it (``scheduler/service/runner.py``)::

    registry = WorkerRegistry(store, calls, worker_id)
    await registry.start()                       # at start-up, once the outbox is open
    await registry.beat()                        # every housekeeping tick (service.watch_interval)
    await registry.run_once_cluster_wide("prune-workers", PRUNE_EVERY, registry.prune)  # and at start:
                                                 # `serve --once` from cron has no ticks, a row a run
    await registry.stop()                        # on a clean shutdown
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from scheduler.service.storecalls import StoreCalls
from scheduler.store import PeriodicClaim, Store

log = logging.getLogger("tagcast.service")

FORGET_AFTER = timedelta(days=7)
"""Workers silent for this long (and holding nothing) are removed from ``workers``."""
PRUNE_EVERY = timedelta(hours=1)
"""How often one worker of the cluster prunes ``workers``."""
MIN_SILENCE = timedelta(seconds=30)


def silence_limit(watch_interval: timedelta) -> timedelta:
    """How long without a heartbeat before a worker counts as gone: three missed beats (at least 30 s)."""
    return max(3 * watch_interval, MIN_SILENCE)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class WorkerRegistry:
    """This process's row in ``workers`` and its share of the cluster's periodic work."""

    def __init__(
        self,
        store: Store,
        calls: StoreCalls,
        worker_id: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        self.store = store
        self.calls = calls
        self.worker_id = worker_id
        self.clock = clock
        self.host = host or socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self._asking: set[asyncio.Future[PeriodicClaim | None]] = set()
        """Claims asked for by looks that were cancelled: given back once granted."""
        self._releasing: set[asyncio.Future[None]] = set()

    async def start(self) -> None:
        """Register this worker (started now)."""
        await self.calls(
            self.store.register_worker, self.worker_id, host=self.host, pid=self.pid, now=self.clock()
        )

    async def beat(self) -> None:
        """Say this worker is alive; register it again if its row was pruned meanwhile."""
        if not await self.calls(self.store.heartbeat, self.worker_id, now=self.clock()):
            await self.start()

    async def stop(self) -> None:
        """Mark this worker stopped (a clean shutdown); a killed one just falls silent."""
        await self.calls(self.store.stop_worker, self.worker_id, now=self.clock())

    async def others_alive(self, silence: timedelta) -> list[str]:
        """The other workers that beat within ``silence`` and did not stop. When there are any, the cluster
        was not down, so the misfire policy ("missed during downtime") does not apply at this start: what is
        late is a backlog that the live workers are sending."""
        now = self.clock()
        seen = await self.calls(self.store.workers, since=now - silence)
        return [w.id for w in seen if w.id != self.worker_id and w.alive(now, silence)]

    def _give_back(self, asking: asyncio.Future[PeriodicClaim | None]) -> None:
        self._asking.discard(asking)
        if asking.cancelled() or asking.exception() is not None:
            return
        claim = asking.result()
        if claim is not None:
            release = asyncio.ensure_future(
                self.calls(self.store.end_periodic, claim, now=self.clock(), done=False)
            )
            self._releasing.add(release)
            release.add_done_callback(self._releasing.discard)

    async def given_back(self) -> None:
        """Wait until every claim granted to a cancelled look has been given back."""
        while self._asking or self._releasing:
            await asyncio.gather(*self._asking, *self._releasing, return_exceptions=True)

    async def prune(self) -> None:
        """Forget workers silent for :data:`FORGET_AFTER` that hold nothing."""
        forgotten = await self.calls(self.store.prune_workers, before=self.clock() - FORGET_AFTER)
        if forgotten:
            log.info("forgot %d worker(s) not seen for a week", forgotten)

    async def run_once_cluster_wide(
        self,
        name: str,
        period: timedelta,
        work: Callable[[], Awaitable[object]],
        *,
        hold: timedelta | None = None,
    ) -> bool:
        """Run ``work`` here if no worker of the cluster ran ``name`` in the last ``period`` and none runs it
        now; True when it ran here. Call it as often as convenient (every tick): at most one run per period.

        ``hold`` (default: the period, at least a minute) bounds a run on SQLite: a worker killed mid-run
        blocks ``name`` until then. On PostgreSQL the lock dies with the worker's connection. A run that
        raises is given back (the next look, here or elsewhere, runs it again) and the error propagates.
        """
        hold = hold or max(period, timedelta(minutes=1))
        ask = self.store.try_periodic
        asking = asyncio.ensure_future(
            self.calls(ask, name, worker=self.worker_id, period=period, now=self.clock(), hold=hold)
        )
        try:
            claim = await asyncio.shield(asking)
        except asyncio.CancelledError:  # the claim may still be granted: give it back, never leak its lock
            self._asking.add(asking)
            asking.add_done_callback(self._give_back)
            raise
        if claim is None:
            return False
        done = False
        try:
            await work()
            done = True
        finally:
            await self.calls(self.store.end_periodic, claim, now=self.clock(), done=done)
        return True
