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

The same rule holds per channel (:func:`channel_stalls`): one channel whose posts wait while the others go
out (its dispatcher task died, its adapter hangs and holds the channel) is named::

    "dispatcher": "channel 'news' is stalled: a post has been due for 41m and none of its deliveries was
                   claimed or settled for 11m (service.stall_after = 10m); ..."

and, in the service, a send in flight for ``stall_after`` (:class:`SendWatch`, which the dispatcher tells
when a send starts and ends) names its channel and delivery even when nothing else of that channel is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
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


_RESTART = "read the log of `tagcast serve` and restart it"


def channel_stalls(
    progress: dict[str, Progress], *, now: datetime, stall_after: timedelta, since: datetime | None = None
) -> list[str]:
    """:func:`stall_problem`'s rule for each channel of ``progress`` (:meth:`Store.channel_progress`): a
    channel is stalled when one of its posts has been due for ``stall_after`` and none of its deliveries was
    claimed or settled within that time (counted from ``since`` at the earliest). One problem per stalled
    channel, naming it; ``stall_after`` zero: none."""
    if stall_after <= timedelta(0):
        return []
    setting = f"service.stall_after = {format_duration(stall_after)}"
    problems = []
    for channel, seen in sorted(progress.items()):
        if seen.oldest_due is None or now - seen.oldest_due < stall_after:
            continue
        moments = [moment for moment in (seen.last_progress, since) if moment is not None]
        quiet = now - max(moments) if moments else None
        if quiet is not None and quiet < stall_after:
            continue
        waited = format_duration(now - seen.oldest_due)
        settled = "was ever claimed or settled"
        if quiet is not None:
            settled = f"was claimed or settled for {format_duration(quiet)}"
        problems.append(
            f"channel '{channel}' is stalled: a post has been due for {waited} and none of its deliveries "
            f"{settled} ({setting}); {_RESTART}"
        )
    return problems


def outbox_stalls(
    store: Store, *, now: datetime, stall_after: timedelta, since: datetime | None = None
) -> list[str]:
    """What ``/healthz`` and ``status --check`` say of the dispatcher, read from the outbox: the whole
    dispatcher stalled (:func:`stall_problem`), else each stalled channel (:func:`channel_stalls`)."""
    if stall_after <= timedelta(0):
        return []
    whole = stall_problem(store.progress(now), now=now, stall_after=stall_after, since=since)
    if whole is not None:
        return [whole]
    by_channel = store.channel_progress(now, due_by=now - stall_after)
    return channel_stalls(by_channel, now=now, stall_after=stall_after, since=since)


class SendWatch:
    """The sends in flight in this process, as the dispatcher reports them::

        with watch.sending(delivery.id, delivery.channel):
            receipt = await adapter.publish(...)

    :meth:`stuck` names each one that has run for ``stall_after``: an adapter that does not return
    although every request has a deadline holds its channel (it gets nothing else meanwhile)."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._since: dict[str, tuple[str, datetime]] = {}

    @contextlib.contextmanager
    def sending(self, delivery_id: str, channel: str) -> Iterator[None]:
        """A send of ``delivery_id`` on ``channel`` runs in this block."""
        self._since[delivery_id] = (channel, self.clock())
        try:
            yield
        finally:
            self._since.pop(delivery_id, None)

    def in_flight(self) -> dict[str, tuple[str, datetime]]:
        """delivery id -> (channel, when its send started)."""
        return dict(self._since)

    def stuck(self, *, now: datetime, stall_after: timedelta) -> list[str]:
        """One problem per send in flight for ``stall_after`` or longer (none when it is zero)."""
        if stall_after <= timedelta(0):
            return []
        setting = f"service.stall_after = {format_duration(stall_after)}"
        return [
            f"channel '{channel}' is stalled: delivery {delivery_id} has been sending for "
            f"{format_duration(now - started)} ({setting}); its adapter does not return: {_RESTART}"
            for delivery_id, (channel, started) in sorted(self._since.items(), key=lambda item: item[1])
            if now - started >= stall_after
        ]


async def dispatcher_problem(
    store: Store,
    *,
    now: datetime,
    stall_after: timedelta,
    since: datetime | None = None,
    timeout: float = PING_TIMEOUT,
    sends: SendWatch | None = None,
) -> str | None:
    """:func:`outbox_stalls` read in a thread within ``timeout`` (an outbox that does not answer is the outbox
    check's to report), and the sends in flight for too long (``sends``); None when nothing is stalled, else
    every problem, joined."""
    if stall_after <= timedelta(0):
        return None
    stuck = sends.stuck(now=now, stall_after=stall_after) if sends is not None else []
    try:
        found = await asyncio.wait_for(
            asyncio.to_thread(outbox_stalls, store, now=now, stall_after=stall_after, since=since), timeout
        )
    except (TimeoutError, SQLAlchemyError):
        found = []
    return "; ".join([*found, *stuck]) or None


async def check_health(
    store: Store,
    *,
    worker: str,
    clock_problem: Callable[[], str | None],
    timeout: float = PING_TIMEOUT,
    now: datetime | None = None,
    stall_after: timedelta = timedelta(0),
    since: datetime | None = None,
    sends: SendWatch | None = None,
) -> Health:
    """Check the clock, the outbox and (given ``now`` and ``stall_after``; ``since`` the service started;
    ``sends`` in flight) the dispatcher now."""
    clock = clock_problem()
    outbox = await outbox_problem(store, timeout)
    checks = {"clock": clock or OK, "outbox": outbox or OK}
    if now is not None:
        stalled = await dispatcher_problem(
            store, now=now, stall_after=stall_after, since=since, timeout=timeout, sends=sends
        )
        checks["dispatcher"] = stalled or OK
    return Health(worker, checks)
