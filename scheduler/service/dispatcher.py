"""Send what is due: claim deliveries from the outbox, publish each through its channel's adapter, record it.

::

    async with httpx.AsyncClient(timeout=30) as http:
        dispatcher = Dispatcher(workspace, store, http, worker_id="host-1234")
        report = await dispatcher.run_due(datetime.now(UTC))

Order and parallelism: :meth:`Store.claim_due` hands out at most one delivery per channel and none for a
channel that is still sending, so the posts of one channel go out one after the other in slot order, while up
to ``service.concurrency`` channels send at once over the one shared HTTP client.

Exactly once: the claim (``sending``, attempts + 1) is committed before the adapter runs, the adapter's
journal is committed before each network call (``Journal.save`` -> ``store.save_journal``), and the outcome
after it (:mod:`scheduler.service.outcomes`). While a send is in flight its lease is renewed, so a long thread
is not taken over by another worker; a worker that dies leaves the row in ``sending`` until its lease expires
and :mod:`scheduler.service.recovery` reconciles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scheduler.adapters.base import Journal, Outgoing, Receipt
from scheduler.config.durations import format_duration
from scheduler.config.loader import Workspace
from scheduler.service.channels import AdapterCache
from scheduler.service.outcomes import Settled, Settler, label
from scheduler.service.retry import RetryPolicy
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Delivery, DeliveryConflict, Store

log = logging.getLogger("tagcast.service")

LATE_NOTICE = timedelta(minutes=1)
"""A first attempt this much after its slot is logged as late."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def outgoing_for(delivery: Delivery) -> Outgoing:
    """The delivery as its adapter sees it: the parts exactly as stored, the key chosen at insert."""
    return Outgoing(
        delivery_id=delivery.id,
        idempotency_key=delivery.idempotency_key,
        parts=delivery.parts,
        article=delivery.to_article(),
        channel=delivery.channel,
    )


@dataclass
class DispatchReport:
    """What one :meth:`Dispatcher.run_due` did: delivery id -> the state it was left in."""

    outcomes: dict[str, str] = field(default_factory=dict)

    @property
    def claimed(self) -> int:
        return len(self.outcomes)

    def count(self, state: str) -> int:
        return sum(1 for value in self.outcomes.values() if value == state)

    def __str__(self) -> str:
        states = sorted(set(self.outcomes.values()))
        return ", ".join(f"{self.count(s)} {s}" for s in states) or "nothing due"


class Dispatcher:
    """Claims due deliveries and sends them; one per process (``worker_id`` names it in claims and logs)."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        http_client: httpx.AsyncClient,
        *,
        worker_id: str,
        clock: Callable[[], datetime] = utc_now,
        calls: StoreCalls | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.store = store
        self.worker_id = worker_id
        self.clock = clock
        self.calls = calls or StoreCalls()
        self.adapters = AdapterCache(workspace.settings, workspace.root, http_client)
        self.settler = Settler(
            store,
            self.calls,
            policy=RetryPolicy.from_settings(workspace.settings.service),
            clock=clock,
            rng=rng,
        )
        self.workspace = workspace
        self._claiming = True

    def reload(self, workspace: Workspace) -> None:
        """Use a new config: adapters are rebuilt on next use; sends in flight finish with the old ones."""
        self.workspace = workspace
        self.adapters.reload(workspace.settings)
        self.settler.policy = RetryPolicy.from_settings(workspace.settings.service)

    def stop_claiming(self) -> None:
        """Claim nothing more (shutdown); sends in flight go on."""
        self._claiming = False

    @property
    def lease(self) -> timedelta:
        return self.workspace.settings.service.lease

    async def run_due(self, now: datetime) -> DispatchReport:
        """Send every delivery due at ``now`` (or by the clock, once it is later), channels in parallel
        (``service.concurrency``), and return what happened. Returns when nothing more can be claimed and
        nothing is in flight.

        If cancelled (shutdown timeout), the sends in flight are cancelled and their leases released, so the
        next start reconciles them at once.
        """
        report = DispatchReport()
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                free = self.workspace.settings.service.concurrency - len(running)
                if self._claiming and free > 0:
                    # due by ``now``; leased from the real clock, however long this round has run
                    moment = max(now, self.clock())
                    claimed = await self.calls(
                        self.store.claim_due, moment, worker=self.worker_id, lease=self.lease, limit=free
                    )
                    for delivery in claimed:
                        running.add(asyncio.create_task(self._deliver(delivery, report), name=delivery.id))
                if not running:
                    return report
                _done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def _deliver(self, delivery: Delivery, report: DispatchReport) -> None:
        """One attempt at one claimed delivery; never raises (but for cancellation)."""
        self._note_lateness(delivery)
        settings = self.adapters.channel_settings(delivery.channel)
        try:
            async with self.keep_lease(delivery):
                outcome = await self._attempt(delivery)
        except asyncio.CancelledError:
            await self._release(delivery)
            raise
        try:
            if isinstance(outcome, Receipt):
                settled = await self.settler.sent(delivery, outcome)
            else:
                settled = await self.settler.failed(delivery, outcome, settings)
        except DeliveryConflict as exc:
            log.error("%s: could not record the outcome: %s", label(delivery), exc)
            settled = Settled("conflict", str(exc))
        except Exception:
            log.exception(
                "%s: could not record the outcome; it stays in sending until its lease ends and it is "
                "reconciled",
                label(delivery),
            )
            settled = Settled("sending", "store error")
        report.outcomes[delivery.id] = settled.state

    async def _attempt(self, delivery: Delivery) -> Receipt | Exception:
        """Publish through the channel's adapter: its receipt, or the exception it raised."""
        try:
            adapter = self.adapters.get(delivery.channel)
            return await adapter.publish(outgoing_for(delivery), self.journal_for(delivery))
        except Exception as exc:
            return exc

    def journal_for(self, delivery: Delivery) -> Journal:
        """The delivery's journal as saved; ``Journal.save`` commits it to the row before returning."""

        async def save(state: dict[str, Any]) -> None:
            await self.calls(self.store.save_journal, delivery.id, dict(state))

        return Journal(state=dict(delivery.journal), saver=save)

    def _note_lateness(self, delivery: Delivery) -> None:
        started = self.clock()
        if delivery.attempts == 1:
            late = started - delivery.scheduled_at
            if late > LATE_NOTICE:
                log.warning(
                    "%s: going out %s late (planned for %s)",
                    label(delivery),
                    format_duration(late),
                    delivery.local_scheduled_at.isoformat(),
                )
                return
        log.info(
            "%s: sending (attempt %d, %d part(s))", label(delivery), delivery.attempts, len(delivery.parts)
        )

    @contextlib.asynccontextmanager
    async def keep_lease(self, delivery: Delivery) -> AsyncIterator[None]:
        """Renew the claim on ``delivery`` every third of the lease while the body runs."""
        renewer = asyncio.create_task(self._renew(delivery))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew(self, delivery: Delivery) -> None:
        """Keep the claim while the send runs (a long thread must not be taken over)."""
        while True:
            await asyncio.sleep(max(self.lease.total_seconds() / 3, 0.05))
            try:
                await self.calls(
                    self.store.renew_lease,
                    delivery.id,
                    worker=self.worker_id,
                    lease_until=self.clock() + self.lease,
                )
            except DeliveryConflict as exc:
                log.error("%s: lost the claim while sending: %s", label(delivery), exc)
                return
            except Exception:
                log.exception("%s: could not renew the lease", label(delivery))

    async def _release(self, delivery: Delivery) -> None:
        """Shutdown cut a send short: end the lease now, so that the next start reconciles it at once."""
        try:
            await asyncio.shield(
                self.calls(
                    self.store.renew_lease, delivery.id, worker=self.worker_id, lease_until=self.clock()
                )
            )
            log.warning(
                "%s: send interrupted by shutdown; it is reconciled at the next start", label(delivery)
            )
        except Exception as exc:  # the row may have been settled meanwhile
            log.warning("%s: send interrupted by shutdown (%s)", label(delivery), exc)
