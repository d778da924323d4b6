"""Calling the (synchronous) Store from the service's event loop without blocking it.

Every call runs on ONE dedicated thread, in the order it was made, each in its own transaction. The store's
writes are serialised by the database anyway (``BEGIN IMMEDIATE`` on SQLite); funnelling this process's calls
through one thread means they never wait on each other in SQLite's busy handler (which sleeps in steps of
milliseconds), and the loop keeps serving HTTP while a commit is flushed to disk::

    calls = StoreCalls()
    claimed = await calls(store.claim_due, now, worker="w1", lease=lease, limit=4)
    calls.close()

A caller hears back only once its call has returned, so what it was told is committed is committed (a claim
before its network call, a journal, a receipt). Calls are not grouped into shared transactions: measured with
``bench/queue.py`` (docs/benchmarks.md, "The delivery core"), one post per channel gains nothing from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class _Call:
    """One call waiting for the store thread, and where its outcome goes."""

    func: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]

    def run(self) -> None:
        """Run the call and hand its outcome to the waiting coroutine (on its loop; nobody waits once it is
        closed, and a cancelled caller is not run for)."""
        if self.future.cancelled():
            return
        try:
            outcome = (True, self.func())
        except BaseException as exc:  # handed to the caller, as an executor would
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_resolve, self.future, *outcome)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class StoreCalls:
    """Run store methods on one worker thread, in order, and await their results (see the module
    docstring)."""

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
        self._queue.put(_Call(lambda: func(*args, **kwargs), loop, future))
        return await future

    def close(self) -> None:
        """Finish the calls already submitted, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _work(self) -> None:
        while (call := self._queue.get()) is not None:
            call.run()
