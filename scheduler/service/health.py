"""``GET /healthz``: 200 while the clock runs, the outbox answers and the dispatcher keeps up; 503 otherwise,
saying why, as JSON.

::

    {"status": "ok", "worker": "host-1234-ab12",
     "checks": {"clock": "ok", "outbox": "ok", "dispatcher": "ok"}}
    {"status": "unavailable", "worker": "...",
     "checks": {"clock": "ok", "outbox": "the outbox file /srv/tagcast/var/tagcast.db is missing, ...",
                "dispatcher": "ok"}}

The outbox check is :meth:`Store.ping` in a thread, bounded by a short timeout (a locked or unreachable
database must not hang the health check); the clock check is given by the service (``None`` when it is
fine, else why not). The dispatcher check (:func:`stall_problem`) fails when a post has been due for
``service.stall_after`` and no delivery was claimed or settled in that time: a dispatcher that hangs on one
send or spins on one post while the clock and the outbox are fine. ``tagcast status --check`` applies the
same rule from another process.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from scheduler.config.durations import format_duration
from scheduler.safe_text import json_safe
from scheduler.store import Store
from scheduler.store.store import Progress

OK = "ok"
PING_TIMEOUT = 2.0


@dataclass(frozen=True)
class Health:
    """The result of one health check: ``checks`` maps each check to ``"ok"`` or what is wrong."""

    worker: str
    checks: dict[str, str]

    @property
    def ok(self) -> bool:
        return all(value == OK for value in self.checks.values())

    @property
    def status(self) -> int:
        return 200 if self.ok else 503

    def to_json(self) -> str:
        data = {"status": "ok" if self.ok else "unavailable", "worker": self.worker, "checks": self.checks}
        return json_safe(json.dumps(data, ensure_ascii=False))


async def outbox_problem(store: Store, timeout: float = PING_TIMEOUT) -> str | None:
    """None when the outbox answers a trivial query within ``timeout`` seconds, else why not."""
    try:
        await asyncio.wait_for(asyncio.to_thread(store.ping), timeout)
    except TimeoutError:
        return f"the outbox did not answer within {timeout:g}s"
    except Exception as exc:
        return str(exc).split("\n", 1)[0] or type(exc).__name__
    return None


def stall_problem(
    progress: Progress, *, now: datetime, stall_after: timedelta, since: datetime | None = None
) -> str | None:
    """None while the dispatcher keeps up at ``now``; else what is wrong. It is stalled when a delivery has
    been due for ``stall_after`` or longer and none was claimed or settled within that time, counted from
    ``since`` (when the service started) when that is later: a service that has just started, with a backlog
    from its downtime, is not stalled yet. ``stall_after`` zero: never."""
    if stall_after <= timedelta(0) or progress.oldest_due is None:
        return None
    waited = now - progress.oldest_due
    if waited < stall_after:
        return None
    setting = f"service.stall_after = {format_duration(stall_after)}"
    moments = [moment for moment in (progress.last_progress, since) if moment is not None]
    if not moments:
        return (
            f"the dispatcher is stalled: a post has been due for {format_duration(waited)} and no delivery "
            f"was ever claimed ({setting}); is `tagcast serve` running?"
        )
    quiet = now - max(moments)
    if quiet < stall_after:
        return None
    return (
        f"the dispatcher is stalled: a post has been due for {format_duration(waited)} and no delivery "
        f"was claimed or settled for {format_duration(quiet)} ({setting}); read the log of `tagcast serve` "
        "and restart it"
    )


async def dispatcher_problem(
    store: Store,
    *,
    now: datetime,
    stall_after: timedelta,
    since: datetime | None = None,
    timeout: float = PING_TIMEOUT,
) -> str | None:
    """:func:`stall_problem` from the outbox, read in a thread within ``timeout`` (an outbox that does not
    answer is the outbox check's to report)."""
    if stall_after <= timedelta(0):
        return None
    try:
        progress = await asyncio.wait_for(asyncio.to_thread(store.progress, now), timeout)
    except (TimeoutError, SQLAlchemyError):
        return None
    return stall_problem(progress, now=now, stall_after=stall_after, since=since)


async def check_health(
    store: Store,
    *,
    worker: str,
    clock_problem: Callable[[], str | None],
    timeout: float = PING_TIMEOUT,
    now: datetime | None = None,
    stall_after: timedelta = timedelta(0),
    since: datetime | None = None,
) -> Health:
    """Check the clock, the outbox and (given ``now`` and ``stall_after``; ``since`` the service started) the
    dispatcher now."""
    clock = clock_problem()
    outbox = await outbox_problem(store, timeout)
    checks = {"clock": clock or OK, "outbox": outbox or OK}
    if now is not None:
        stalled = await dispatcher_problem(
            store, now=now, stall_after=stall_after, since=since, timeout=timeout
        )
        checks["dispatcher"] = stalled or OK
    return Health(worker, checks)
