"""Time that moves only when a test moves it, for code that takes ``clock=`` and ``sleep=`` collaborators.

::

    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    dispatcher = Dispatcher(..., clock=clock.now, sleep=clock.sleep)
    clock.advance(10)                    # wakes every sleep that ends by then
    await clock.next_sleep()             # ... and waits until one sleeps again: its work is done

Everything runs on one asyncio loop; nothing here reads the wall clock except the guard timeout of
:meth:`ManualClock.sleeping_past_now`, which only stops a hung test.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

GUARD = 30.0
"""Seconds :meth:`ManualClock.sleeping_past_now` waits at most before it fails the test (a hang)."""


class ManualClock:
    """``now()`` and ``sleep(seconds)`` on a clock that only :meth:`advance` moves."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self._start = start
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._slept: asyncio.Event | None = None
        self.sleeps = 0
        """How many sleeps have started."""

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        """Seconds since the clock was made, for code that takes a monotonic ``clock``."""
        return (self.at - self._start).total_seconds()

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been advanced by ``seconds`` (or more); at once for 0 or less."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.get_running_loop().create_future()
        entry = (self.at + timedelta(seconds=seconds), woken)
        self._sleepers.append(entry)
        self.sleeps += 1
        self._changed().set()
        try:
            await woken
        finally:
            self._sleepers.remove(entry)

    def advance(self, seconds: float) -> None:
        """Move the clock on and wake every sleep that ends by the new time."""
        self.at += timedelta(seconds=seconds)
        for deadline, woken in self._sleepers:
            if deadline <= self.at and not woken.done():
                woken.set_result(None)

    async def sleeping_past_now(self) -> None:
        """Wait until some task sleeps until after now: whatever :meth:`advance` woke has done its work and
        gone back to sleep."""

        await self._until(lambda: any(deadline > self.at and not w.done() for deadline, w in self._sleepers))

    async def next_sleep(self) -> None:
        """Wait until a task starts a sleep after this call: whatever was just offered or woken has been
        handled, and its task waits again. Call it right after the action, before anything else yields."""
        seen = self.sleeps
        await self._until(lambda: self.sleeps > seen)

    async def _until(self, condition: Callable[[], bool]) -> None:
        async def wait() -> None:
            while not condition():
                changed = self._changed()
                changed.clear()
                await changed.wait()

        await asyncio.wait_for(wait(), GUARD)

    def _changed(self) -> asyncio.Event:
        if self._slept is None:
            self._slept = asyncio.Event()
        return self._slept
