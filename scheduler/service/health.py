"""``GET /healthz``: 200 while the clock runs and the outbox answers; 503 otherwise, saying why, as JSON.

::

    {"status": "ok", "worker": "host-1234-ab12", "checks": {"clock": "ok", "outbox": "ok"}}
    {"status": "unavailable", "worker": "...",
     "checks": {"clock": "ok", "outbox": "the outbox file /srv/tagcast/var/tagcast.db is missing, ..."}}

The outbox check is :meth:`Store.ping` in a thread, bounded by a short timeout (a locked or unreachable
database must not hang the health check); the clock check is given by the service (``None`` when it is
fine, else why not).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass

from scheduler.store import Store

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
        return json.dumps(data, ensure_ascii=False)


async def outbox_problem(store: Store, timeout: float = PING_TIMEOUT) -> str | None:
    """None when the outbox answers a trivial query within ``timeout`` seconds, else why not."""
    try:
        await asyncio.wait_for(asyncio.to_thread(store.ping), timeout)
    except TimeoutError:
        return f"the outbox did not answer within {timeout:g}s"
    except Exception as exc:
        return str(exc).split("\n", 1)[0] or type(exc).__name__
    return None


async def check_health(
    store: Store, *, worker: str, clock_problem: Callable[[], str | None], timeout: float = PING_TIMEOUT
) -> Health:
    """Check the clock and the outbox now."""
    clock = clock_problem()
    outbox = await outbox_problem(store, timeout)
    return Health(worker, {"clock": clock or OK, "outbox": outbox or OK})
