"""Calling the (synchronous) Store from the service's event loop without blocking it.

Every call runs on ONE dedicated thread, in the order it was made. The store's writes are serialised by the
database anyway (``BEGIN IMMEDIATE`` on SQLite); funnelling this process's calls through one thread means
they never wait on each other in SQLite's busy handler (which sleeps in steps of milliseconds), and the loop
keeps serving HTTP while a commit is flushed to disk::

    calls = StoreCalls(store.one_transaction, pinned=store.pinned)
    claimed = await calls(store.claim_due, now, worker="w1", lease=lease, limit=4)
    calls.close()

A caller hears back only once its call has returned and its transaction is committed, so what it was told
is committed is committed (a claim before its network call, a journal, a receipt).

Group commit. While the thread runs one call, others queue up behind it (the receipts of the other sends in
flight, a claim). When the thread takes a call of a Store method marked
:func:`~scheduler.store.base.may_share_commit`, it also takes the calls of such methods already waiting
behind it (at most :data:`GROUP_MAX`) and runs them, in order, in one transaction
(:meth:`Store.one_transaction <scheduler.store.base.StoreBase.one_transaction>`): one ``BEGIN`` and one
commit for all, and far fewer hand-overs of the interpreter lock between this thread and the event loop,
which is what a store call mostly waits for (``docs/benchmarks.md``, "Group commit"). Nothing waits to be
grouped: a call that finds the thread idle runs at once, alone. If any call of a group raises, the shared
transaction is rolled back whole and each call runs again alone, in its own transaction, exactly as without
grouping; so a caller sees the same outcome either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

GROUP_MAX = 32
"""At most this many calls share one transaction (a bound on how long it holds the database's write lock)."""


@dataclass
class _Call:
    """One call waiting for the store thread, and where its outcome goes."""

    func: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    shares: bool
    """Whether it may share a transaction with the calls around it (:func:`may_share_commit`)."""

    def run(self) -> None:
        """Run the call alone and hand its outcome to the waiting coroutine."""
        if self.future.cancelled():
            return
        try:
            self.answer(True, self.func())
        except BaseException as exc:  # handed to the caller, as an executor would
            self.answer(False, exc)

    def answer(self, ok: bool, value: Any) -> None:
        """Hand an outcome to the waiting coroutine (on its loop; nobody waits once it is closed)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(_resolve, self.future, ok, value)


def _answer_all(calls: list[_Call], values: list[Any]) -> None:
    """Hand each call of a group its value, with one wake-up of each loop waiting (the service has one):
    each wake-up costs the store thread a hand-over of the interpreter lock."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for call, value in zip(calls, values, strict=True):
        by_loop.setdefault(call.loop, []).append((call.future, value))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve_all, answers)


def _resolve_all(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, value in answers:
        _resolve(future, True, value)


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class StoreCalls:
    """Run store methods on one worker thread, in order, and await their results; ``together`` (the store's
    :meth:`~scheduler.store.base.StoreBase.one_transaction`) lets waiting calls share a commit (see the
    module docstring). Without it every call has its own transaction. ``pinned`` (the store's
    :meth:`~scheduler.store.base.StoreBase.pinned`) is held for the thread's life: its transactions then
    run on one connection instead of one from the pool for each."""

    def __init__(
        self,
        together: Callable[[], AbstractContextManager[None]] | None = None,
        *,
        pinned: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._together = together
        self._pinned = pinned
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="tagcast-store", daemon=True)
        self._thread.start()
        self._closed = False

    async def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        if self._closed:
            raise RuntimeError("the store calls are closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        shares = self._together is not None and getattr(func, "may_share_commit", False)
        self._queue.put(_Call(lambda: func(*args, **kwargs), loop, future, shares))
        return await future

    def close(self) -> None:
        """Finish the calls already submitted, then stop the thread."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()

    def _work(self) -> None:
        with self._pinned() if self._pinned is not None else contextlib.nullcontext():
            self._serve()

    def _serve(self) -> None:
        taken: _Call | None = None  # taken from the queue while gathering a group, not yet run
        held = False
        while True:
            call = taken if held else self._queue.get()
            held = False
            if call is None:
                return
            group = [call]
            while call.shares and len(group) < GROUP_MAX:
                try:
                    taken = self._queue.get_nowait()
                except queue.Empty:
                    break
                if taken is None or not taken.shares:
                    held = True
                    break
                group.append(taken)
            self._run(group)

    def _run(self, group: list[_Call]) -> None:
        """Run ``group`` in one transaction when there is more than one call to run; else, or when that
        fails, each call alone."""
        live = [call for call in group if not call.future.cancelled()]
        if len(live) > 1 and self._together is not None:
            try:
                with self._together():
                    values = [call.func() for call in live]
            except BaseException:  # rolled back whole: each call again, alone, as without grouping
                pass
            else:
                _answer_all(live, values)
                return
        for call in live:
            call.run()
