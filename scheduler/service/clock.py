"""The service's clock: APScheduler 3.11 wakes the dispatcher when a post is due, and the watcher often.

The outbox (the ``deliveries`` table) is the source of truth for every planned post; APScheduler only keeps
time. It holds exactly two jobs, in its memory job store:

``dispatch``
    A ``date`` job at :meth:`Store.next_due`, re-armed (replaced) whenever the queue may have changed: after
    each dispatch round, after ingesting posts/, and when the periodic poll sees another change (a
    ``tagcast queue`` command in another process, a paused channel's end). ``misfire_grace_time=None``: a
    wake-up that comes late still runs, and the outbox's misfire policy, not APScheduler, decides about late
    posts.
``watch``
    An ``interval`` job every ``service.watch_interval``: re-read posts/ and the config, settle crash
    leftovers of other workers, re-arm ``dispatch``. ``misfire_grace_time`` = the interval, ``coalesce=True``:
    missed runs (a suspended laptop) collapse into one.

and, when ``[alerts.digest]`` is set, a third: a daily ``cron`` job (:meth:`Clock.add_daily`) at a local
time of day, ``coalesce=True`` and ``misfire_grace_time`` of an hour (a digest an hour late still goes out,
one more than that is skipped). A digest time in a DST gap fires at APScheduler's idea of it: harmless for a
summary, which is why posts never use these triggers.

:meth:`Clock.problem` says whether the clock still runs (for ``/healthz``).

A job only sets an :class:`asyncio.Event`; the work runs in the service's own tasks, so a long round never
makes APScheduler skip or overlap a job ("maximum number of running instances reached").

Why not one APScheduler job per post (docs/design.md, "Scheduling", measured on 3.11):

- jobs cannot be listed, edited or claimed by several workers, and 3.x job stores cannot be shared by two
  processes ("You can't", says its FAQ): two ``serve`` processes would duplicate and drop posts;
- a one-off job in a persistent job store is lost or repeated when the process is killed (it is handed to the
  executor before its row is deleted), so exactly-once would depend on APScheduler's internals;
- the default ``misfire_grace_time`` of 1 s silently drops jobs missed during downtime, and without
  ``coalesce`` a recurring job replays every missed run: both are set explicitly here;
- ``CronTrigger`` returns wall times that do not exist in a DST gap, so slot times come from our own
  zone-aware code (:mod:`scheduler.slots`), never from APScheduler triggers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

log = logging.getLogger("tagcast.service")

DISPATCH_JOB = "dispatch"
WATCH_JOB = "watch"
DAILY_GRACE = 3600
"""Seconds a daily job may run late (after a suspend or a busy loop) before that day's run is skipped."""


class Clock:
    """Wakes ``dispatch_due`` at the armed time and ``watch_due`` every interval (both asyncio Events)::

    clock = Clock(watch_interval=timedelta(seconds=10))
    clock.start()                       # inside the running event loop
    clock.arm(store.next_due())         # None: nothing to wake for
    await clock.dispatch_due.wait()
    """

    def __init__(self, *, watch_interval: timedelta) -> None:
        self.dispatch_due = asyncio.Event()
        self.watch_due = asyncio.Event()
        self.armed_at: datetime | None = None
        self.last_tick: float | None = None
        """``time.monotonic()`` of the last ``watch`` run (None before the first)."""
        self._started_at: float | None = None
        self._watch_interval = watch_interval
        self._scheduler = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Start the scheduler on the running loop with the ``watch`` job."""
        self._scheduler.start()
        self._started_at = time.monotonic()
        self._add_watch()

    def _add_watch(self) -> None:
        seconds = max(self._watch_interval.total_seconds(), 0.05)
        self._scheduler.add_job(
            self._fire_watch,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=WATCH_JOB,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds)),
            max_instances=1,
        )

    def set_watch_interval(self, interval: timedelta) -> None:
        """A reloaded config changed ``service.watch_interval``."""
        if interval != self._watch_interval:
            self._watch_interval = interval
            self._add_watch()

    def arm(self, at: datetime | None) -> None:
        """Wake the dispatcher at ``at`` (now if it is past); None removes the wake-up."""
        if at == self.armed_at and (at is None or self._scheduler.get_job(DISPATCH_JOB) is not None):
            return
        self.armed_at = at
        if at is None:
            if self._scheduler.get_job(DISPATCH_JOB) is not None:
                self._scheduler.remove_job(DISPATCH_JOB)
            return
        self._scheduler.add_job(
            self._fire_dispatch,
            DateTrigger(run_date=at, timezone=UTC),
            id=DISPATCH_JOB,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,
            max_instances=1,
        )
        log.debug("dispatcher wakes at %s", at.isoformat())

    def jobs(self) -> list[Any]:
        """APScheduler's jobs (``dispatch`` when armed, ``watch``), for ``status`` displays and tests."""
        return list(self._scheduler.get_jobs())

    def wake_now(self) -> None:
        """Wake the dispatcher at once (after ingesting new posts, for example)."""
        self.dispatch_due.set()

    async def _fire_dispatch(self) -> None:
        self.armed_at = None
        self.dispatch_due.set()

    async def _fire_watch(self) -> None:
        self.last_tick = time.monotonic()
        self.watch_due.set()

    def add_daily(self, job_id: str, at: time_of_day, timezone: str) -> asyncio.Event:
        """A daily job at local time ``at`` in ``timezone`` (replacing one with the same id); the returned
        Event is set each time it fires."""
        fired = asyncio.Event()

        async def fire() -> None:
            fired.set()

        self._scheduler.add_job(
            fire,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=timezone),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=DAILY_GRACE,
            max_instances=1,
        )
        return fired

    def remove(self, job_id: str) -> None:
        """Remove the job ``job_id`` if there is one."""
        if self._scheduler.get_job(job_id) is not None:
            self._scheduler.remove_job(job_id)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def problem(self) -> str | None:
        """None while the scheduler runs and its ``watch`` job keeps firing; else what is wrong."""
        if not self.running:
            return "the clock (APScheduler) is not running"
        interval = max(self._watch_interval.total_seconds(), 0.05)
        allowed = max(3 * interval, 30.0)
        last = self.last_tick if self.last_tick is not None else self._started_at
        if last is not None and time.monotonic() - last > allowed:
            silent = time.monotonic() - last
            return f"the clock's watch job has not run for {silent:.0f}s (every {interval:g}s)"
        return None

    async def shutdown(self) -> None:
        """Stop the scheduler (its shutdown runs on the loop: give it one turn)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
