"""The alerts task: events in (a bounded queue), grouped and rate-limited messages out, never in the way.

:meth:`Alerter.offer` is the event bus subscriber: it turns an event into an alert item (or nothing) and puts
it on a bounded queue without waiting; when the queue is full the item is counted as suppressed, so a storm of
failures costs memory for at most :data:`QUEUE_SIZE` items. (The queue is a deque and an Event, waited on with
``asyncio.wait`` beside a sleep until the next group is due: ``asyncio.wait_for`` around ``Queue.get`` can
miss a cancellation on Python 3.11 and hang the shutdown.) Time comes from the ``clock`` and ``sleep`` given
to the constructor (the event loop's by default), so a test moves it. The task (:meth:`Alerter.start`) groups
the items (one message per channel per ``alerts.group_window``), applies ``alerts.max_per_hour``, masks
secrets and sends through :class:`~scheduler.alerts.sender.AlertSender`, each send bounded by
``alerts.send_timeout``. Nothing here is awaited by the dispatcher: a slow or dead alert channel delays
alerts, never deliveries. On shutdown :meth:`Alerter.close` sends what is still grouped, within a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from scheduler.alerts.grouping import Group, Grouper
from scheduler.alerts.items import AlertItem, alert_item
from scheduler.alerts.limits import HourlyLimit
from scheduler.alerts.render import render_group, render_suppressed
from scheduler.alerts.sender import AlertSender
from scheduler.config.redact import Redactor
from scheduler.config.settings import Settings
from scheduler.service.events import Event

log = logging.getLogger("tagcast.alerts")

QUEUE_SIZE = 1000

Tally = Callable[[str, int], None]
"""Called with ``("sent" | "failed" | "suppressed" | "dropped", number)`` (the alert metrics)."""


def _no_tally(result: str, number: int) -> None:
    return None


class Alerter:
    """Groups, limits and sends alerts from its own task (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        sender: AlertSender,
        *,
        host: str,
        tally: Tally = _no_tally,
        limit: HourlyLimit | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.sender = sender
        self.host = host
        self.tally = tally
        self.queue: deque[AlertItem] = deque()
        self._arrived = asyncio.Event()
        self.grouper = Grouper(settings.alerts.group_window.total_seconds())
        self.limit = limit or HourlyLimit(settings.alerts.max_per_hour)
        self.redactor = Redactor.from_settings(settings)
        self._task: asyncio.Task[None] | None = None
        self._clock = clock
        """Monotonic seconds; None: the running event loop's ``time()``."""
        self._sleep = sleep

    @property
    def enabled(self) -> bool:
        return bool(self.settings.alerts.channels)

    def reload(self, settings: Settings) -> None:
        """Use a reloaded config (channels, window, limit, secrets to mask)."""
        self.settings = settings
        self.grouper.window = settings.alerts.group_window.total_seconds()
        self.limit.max_per_hour = settings.alerts.max_per_hour
        self.redactor = Redactor.from_settings(settings)
        self.sender.reload(settings)

    # --- the event bus side: never blocks, never raises ----------------------------------------------------

    def offer(self, event: Event) -> None:
        """Queue the alert for ``event``, if it is one (the event bus subscriber)."""
        item = alert_item(event, self.settings.alerts)
        if item is None:
            return
        if len(self.queue) >= QUEUE_SIZE:
            self.limit.suppress(1)
            self.tally("dropped", 1)
            return
        self.queue.append(item)
        self._arrived.set()

    # --- the task ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the task on the running loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="tagcast-alerts")

    async def close(self, timeout: float) -> None:
        """Stop the task, then send what is queued or grouped (ignoring the window), for at most ``timeout``
        seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self.queue:
            self.grouper.add(self.queue.popleft(), now=0.0)
        groups = self.grouper.pop_all()
        if not groups and not self.limit.suppressed:
            return
        try:
            async with asyncio.timeout(timeout):
                for group in groups:
                    await self._deliver(group, self._now())
                await self._summarise(self._now())
        except TimeoutError:
            log.warning("alerts: stopped before every pending alert was sent (timeout %.3gs)", timeout)

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def _wait(self, until: float | None) -> None:
        """Until an item arrives, or until the clock reaches ``until`` (when there is one)."""
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(self._arrived.wait())}
        if until is not None:
            waiters.add(asyncio.ensure_future(self._sleep(max(0.0, until - self._now()))))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    def _next_wake(self) -> float | None:
        times = [t for t in (self.grouper.next_due(), self.limit.reopens_at()) if t is not None]
        return min(times, default=None)

    async def _run(self) -> None:
        while True:
            if not self.queue:
                await self._wait(self._next_wake())
            self._arrived.clear()
            now = self._now()
            while self.queue:
                self.grouper.add(self.queue.popleft(), now=now)
            try:
                for group in self.grouper.pop_due(now=self._now()):
                    await self._deliver(group, self._now())
                await self._summarise(self._now())
            except Exception:  # a bug here must not end alerting for the life of the service
                log.exception("alerts: sending failed unexpectedly")

    async def _deliver(self, group: Group, now: float) -> None:
        if not self.limit.allow(now):
            self.limit.suppress(len(group.items))
            self.tally("suppressed", len(group.items))
            log.warning(
                "alerts: alerts.max_per_hour = %d reached; %d alert(s) about %s held back",
                self.limit.max_per_hour,
                len(group.items),
                group.channel or "the service",
                extra={"event": "alert.suppressed"},
            )
            return
        text = render_group(group, host=self.host)
        first = min(item.at for item in group.items)
        await self._send(text, salt=first.isoformat())

    async def _summarise(self, now: float) -> None:
        if self.limit.summary_due(now):
            number = self.limit.take_suppressed(now)
            text = render_suppressed(number, max_per_hour=self.limit.max_per_hour, host=self.host)
            await self._send(text, salt=datetime.now(UTC).isoformat())

    async def _send(self, text: str, *, salt: str) -> None:
        ok = await self.sender.send(text, redact=self.redactor, salt=salt)
        self.tally("sent" if ok else "failed", 1)

    async def send_now(self, text: str, *, salt: str) -> bool:
        """Send ``text`` at once, outside grouping and the hourly limit (the daily digest)."""
        ok = await self.sender.send(text, redact=self.redactor, salt=salt)
        self.tally("sent" if ok else "failed", 1)
        return ok
