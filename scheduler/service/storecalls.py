"""Calling the (synchronous) Store from the service's event loop without blocking it.

Every call runs on ONE dedicated thread, in order. The store's writes are serialised by the database anyway
(``BEGIN IMMEDIATE`` on SQLite); funnelling this process's calls through one thread means they never wait on
each other in SQLite's busy handler (which sleeps in steps of milliseconds), and the loop keeps serving HTTP
while a commit is flushed to disk::

    calls = StoreCalls()
    claimed = await calls(store.claim_due, now, worker="w1", lease=lease, limit=4)
    calls.close()
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class StoreCalls:
    """Run store methods on one worker thread and await their results."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagcast-store")

    async def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(func, *args, **kwargs))

    def close(self) -> None:
        """Finish the calls already submitted, then stop the thread."""
        self._executor.shutdown(wait=True)
