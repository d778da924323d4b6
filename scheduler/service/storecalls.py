"""Calling the (synchronous) Store from the service's event loop without blocking it.

Every call runs on ONE dedicated thread, in the order it was made. The store's writes are serialised by the
database anyway (``BEGIN IMMEDIATE`` on SQLite); funnelling this process's calls through one thread means they
never wait on each other in SQLite's busy handler (which sleeps in steps of milliseconds), and the loop keeps
serving HTTP while a commit is flushed to disk::

    calls = StoreCalls()
    claimed = await calls(store.claim_due, now, worker="w1", lease=lease, limit=4)
    calls.close()

Group commit: when the thread finds several calls waiting that are store methods marked
:func:`~scheduler.store.base.groupable`, they run in ONE transaction (``Store.transaction``), so that the
channels sending at once share one commit, and one ``fsync``, instead of queueing for one each.
Nothing is lost by it:

- a caller hears back only after the shared commit, so what it was told is on disk is on disk (a claim before
  its network call, a journal, a receipt);
- when one call of a group raises (a conflict, a missing row), the whole transaction is rolled back and every
  call of the group runs again, alone, in order: each gets the outcome it would have had alone;
- when the commit itself fails, nothing of the group was committed and every caller gets that error.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from scheduler.store.base import StoreBase, group_of

P = ParamSpec("P")
R = TypeVar("R")

GROUP_LIMIT = 64
"""The most calls one shared transaction takes (a bound on how long the database stays locked)."""


class _Rollback(Exception):
    """Raised inside a shared transaction to roll it back after a call of the group failed."""


@dataclass
class _Call:
    """One call waiting for the store thread, and where its outcome goes."""

    func: Callable[[], Any]
    group: StoreBase | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))
    """(True, result) or (False, exception), once run."""

    def run(self) -> bool:
        """Run the call and keep its outcome; whether it succeeded."""
        try:
            self.outcome = (True, self.func())
        except BaseException as exc:  # handed to the caller, as an executor would
            self.outcome = (False, exc)
        return self.outcome[0]

    def report(self) -> None:
        """Hand the outcome to the waiting coroutine (on its loop; nobody waits once it is closed)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_resolve, self.future, *self.outcome)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class StoreCalls:
    """Run store methods on one worker thread and await their results (see the module docstring)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="tagcast-store", daemon=True)
        self._thread.start()
        self._closed = False

    async def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._closed:
            raise RuntimeError("the store calls are closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.put(_Call(lambda: func(*args, **kwargs), group_of(func), loop, future))
        return await future

    def close(self) -> None:
        """Finish the calls already submitted, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    # --- the store thread ---------------------------------------------------------------------------------

    def _work(self) -> None:
        carried: list[_Call | None] = []  # taken from the queue, but not for the group before it
        while True:
            call = carried.pop() if carried else self._queue.get()
            if call is None:
                return
            batch = [call]
            while call.group is not None and len(batch) < GROUP_LIMIT:
                try:
                    following = self._queue.get_nowait()
                except queue.Empty:
                    break
                if following is None or following.group is not call.group:
                    carried.append(following)
                    break
                batch.append(following)
            try:
                self._run(batch)
            except BaseException as exc:  # a bug here must not leave callers waiting for ever
                for waiting in batch:
                    waiting.outcome = (False, exc)
                    waiting.report()

    @staticmethod
    def _run(batch: list[_Call]) -> None:
        live = [call for call in batch if not call.future.cancelled()]
        group = live[0].group if live else None
        if len(live) == 1 or group is None:
            for call in live:
                call.run()
                call.report()
            return
        try:
            with group.transaction():
                if not all(call.run() for call in live):
                    raise _Rollback
        except _Rollback:
            for call in live:  # one of them failed: each alone, in order, for its own outcome
                call.run()
        except Exception as exc:  # the commit failed: none of them is committed
            for call in live:
                call.outcome = (False, exc)
        for call in live:
            call.report()
