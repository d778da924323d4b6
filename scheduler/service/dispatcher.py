"""Send what is due: claim deliveries from the outbox, publish each through its channel's adapter, record it.

::

    async with httpx.AsyncClient(timeout=30) as http:
        dispatcher = Dispatcher(workspace, store, http, worker_id="host-1234")
        report = await dispatcher.run_due(datetime.now(UTC))

Order and parallelism: :meth:`Store.claim_due` hands a channel its next due deliveries only when it has none
in ``sending``, and a channel's batch (as many as it sends in a moment: :mod:`scheduler.service.ahead`) is
sent one delivery at a time, in slot order, by one task; up to ``service.concurrency`` channels send at once
over the one shared HTTP client. While it runs low, a batch claims the channel's next due posts in the
background (:meth:`Store.claim_more`), for up to :data:`GO_ON_FOR`, so that its slot does not wait for a
claim between one batch and the next. A batch gives its slot up with its last send: its receipts are recorded
after that, while the next channel starts, and its channel stays busy until they are.

Exactly once: the claim (``sending``, attempts + 1) is committed, on disk, before the adapter runs; the
adapter's journal is committed before each network call (``Journal.save`` -> ``store.save_journal``); and the
outcome after it (:mod:`scheduler.service.outcomes`). The receipts of a batch are held while its next posts
go out, and recorded together (:meth:`Store.mark_sent_many`) by :data:`RECORD_EVERY`, after
:data:`HOLD_RECEIPTS` at the latest, and when the batch ends, before anything else is recorded for it: until
then their deliveries stay ``sending`` and their channel busy; each is logged and emitted as an event once
their commit is done. Anything else (a failure, a pause the network asks for, a stop) ends the batch, is
recorded before it goes on, and what was not started is given back (:meth:`Store.release`). So a delivery
starts only after the one before it in its batch was answered with a receipt, and after a crash
:mod:`scheduler.service.recovery` knows which of a dead worker's batch may have gone out. While a batch is
sent its leases are renewed; a worker that dies leaves its rows in ``sending`` until their lease expires and
they are reconciled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scheduler.adapters.base import Journal, Outgoing, Receipt
from scheduler.config.durations import format_duration
from scheduler.config.loader import Workspace
from scheduler.config.models import ChannelSettings
from scheduler.service.ahead import Ahead
from scheduler.service.channels import AdapterCache
from scheduler.service.outcomes import Outcome, Settled, Settler, label
from scheduler.service.retry import RetryPolicy
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Delivery, DeliveryConflict, DeliveryNotFound, Store

log = logging.getLogger("tagcast.service")

LATE_NOTICE = timedelta(minutes=1)
"""A first attempt this much after its slot is logged as late."""

RECORD_EVERY = 256
"""The receipts of a batch are recorded in the background by this many at most: one transaction for many,
since each costs the store thread about as much as a hundred receipts (:data:`HOLD_RECEIPTS` bounds how long
they wait). Only adapters that can tell what went out get batches: receipts lost in a crash are found again
by reconciling their deliveries, like any left in ``sending``."""
HOLD_RECEIPTS = 1.0
"""Seconds the receipts of a batch that goes on are held at most before they are recorded."""
GO_ON_FOR = 5.0
"""Seconds a batch may go on claiming its channel's next posts; then its slot goes back to
:meth:`Store.claim_due`, which serves the channel whose due post is oldest."""


NOT_RECORDED = (
    "%s: could not record the outcome; it stays in sending until its lease ends and it is reconciled"
)

STOPPED = "the service stopped before it was sent"
"""Why the deliveries a batch had not started are given back, when nothing else ended it."""


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


def batches(claimed: list[Delivery]) -> Iterator[list[Delivery]]:
    """The deliveries of :meth:`Store.claim_due` channel by channel (each channel's in slot order)."""
    for _channel, batch in itertools.groupby(claimed, key=lambda delivery: delivery.channel):
        yield list(batch)


@dataclass
class _Batch:
    """One channel's claimed deliveries while its task sends them."""

    claimed: list[Delivery]
    waiting: list[Delivery]
    """Claimed, not started yet (in slot order)."""
    sending: Delivery | None = None
    """The one in flight."""
    more: asyncio.Task[list[Delivery]] | None = None
    """The claim of the channel's next posts, while it runs (:meth:`Dispatcher._claim_more`)."""
    asked: int = 0
    """How many that claim asked for: when it brings fewer, the channel has no more due (``drained``)."""
    drained: bool = False
    """The channel had no more due when last asked: the batch claims no more."""
    held: list[tuple[Delivery, Receipt, datetime]] = field(default_factory=list)
    """Receipts not recorded yet, in the order they came, with when they came."""
    held_since: float = 0.0

    def hold(self, delivery: Delivery, receipt: Receipt, now: datetime) -> None:
        """Keep a receipt to record with the batch's others (:meth:`Dispatcher._record_receipts`)."""
        if not self.held:
            self.held_since = asyncio.get_running_loop().time()
        self.held.append((delivery, receipt, now))


@dataclass
class DispatchReport:
    """What one :meth:`Dispatcher.run_due` did: delivery id -> what it was left as."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)

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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        prepare: Callable[[Outgoing], Awaitable[Outgoing]] | None = None,
    ) -> None:
        self.store = store
        self.prepare = prepare
        """Fills what is computed from the article right before publishing (its link card,
        :meth:`scheduler.media.cards.LinkCards.prepare`); it never raises for a page or an image."""
        self.worker_id = worker_id
        self.clock = clock
        self.sleep = sleep
        """How lease renewals wait (seconds); a test passes one that waits on a clock it moves."""
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
        self.ahead = Ahead(workspace.settings)
        self._claiming = True

    def reload(self, workspace: Workspace) -> None:
        """Use a new config: adapters are rebuilt on next use; sends in flight finish with the old ones."""
        self.workspace = workspace
        self.adapters.reload(workspace.settings)
        self.ahead.reload(workspace.settings)
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
        """Batches sending: at most ``service.concurrency``."""
        settling: set[asyncio.Task[None]] = set()
        """Batches done sending, recording their receipts: their channels stay busy until then, but their
        slots are free for other channels."""
        try:
            while True:
                free = self.workspace.settings.service.concurrency - len(running)
                if self._claiming and free > 0:
                    # due by ``now``; leased from the real clock, however long this round has run
                    moment = max(now, self.clock())
                    claimed = await self.calls(
                        self.store.claim_due,
                        moment,
                        worker=self.worker_id,
                        lease=self.lease,
                        limit=free,
                        per_channel=self.ahead.sizes(),
                    )
                    for batch in batches(claimed):
                        task = asyncio.create_task(
                            self._run_batch(batch, report, settling), name=batch[0].channel
                        )
                        running.add(task)
                if not running and not settling:
                    return report
                done, _ = await asyncio.wait(running | settling, return_when=asyncio.FIRST_COMPLETED)
                running -= done
                settling -= done
        except asyncio.CancelledError:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await asyncio.shield(asyncio.gather(*settling, return_exceptions=True))
            raise

    async def _run_batch(
        self, claimed: list[Delivery], report: DispatchReport, settling: set[asyncio.Task[None]]
    ) -> None:
        """Send one channel's claimed deliveries one at a time, in slot order, and settle each.

        Receipts are held and recorded together (in the background by :data:`RECORD_EVERY`, and when the
        batch ends); the channel stays busy, so nothing else of it can be claimed, until every one is
        settled. Anything but a receipt (a failure, a pause the network asks for) ends the batch and is
        recorded, after the receipts held, before anything else happens; a stop ends it too. What was not
        started is given back (:meth:`Store.release`). The end of the batch is recorded by a task added to
        ``settling``, so that this one, and the batch's slot, end with its last send; when cancelled (a
        shutdown that could not wait), it is recorded before this returns.
        """
        batch = _Batch(claimed, list(claimed))
        recording: list[asyncio.Task[Any]] = []
        ended: str | None = None
        loop = asyncio.get_running_loop()
        until = loop.time() + GO_ON_FOR
        try:
            async with self.keep_leases(batch):
                while ended is None and await self._has_next(batch):
                    if not self._claiming:
                        ended = "the service is stopping"
                        break
                    held = len(batch.held)
                    if held >= RECORD_EVERY or (held and loop.time() - batch.held_since > HOLD_RECEIPTS):
                        recording.append(asyncio.create_task(self._record_receipts(batch, report)))
                    if batch.more is None and not batch.drained and loop.time() < until:
                        batch.more = self._claim_more(batch)
                    ended = await self._deliver(batch.waiting.pop(0), batch, report, recording)
        except BaseException:  # cancelled, or a bug: settled before this returns
            await asyncio.shield(self._end_batch(batch, report, recording, ended or STOPPED))
            raise
        settling.add(asyncio.create_task(self._end_batch(batch, report, recording, ended or STOPPED)))

    def _claim_more(self, batch: _Batch) -> asyncio.Task[list[Delivery]] | None:
        """Start claiming the channel's next due posts when ``batch`` runs low (None: not yet)."""
        last = batch.claimed[-1]
        size = self.ahead.size(last.channel)
        if size < 2 or len(batch.waiting) > max(2, size // 4):
            return None
        batch.asked = size
        claiming = self.calls(
            self.store.claim_more, last, self.clock(), worker=self.worker_id, lease=self.lease, size=size
        )
        return asyncio.ensure_future(claiming)

    async def _has_next(self, batch: _Batch) -> bool:
        """Whether ``batch`` has a delivery to send next, with what its claim of more brought, if it had to
        wait for it."""
        more = batch.more
        if more is not None and (more.done() or not batch.waiting):
            batch.more = None
            try:
                claimed = await more
            except Exception:
                log.exception("could not claim more of channel %s; its batch ends", batch.claimed[0].channel)
                claimed = []
            batch.claimed += claimed
            batch.waiting += claimed
            if len(claimed) < batch.asked:
                batch.drained = True
        return bool(batch.waiting)

    async def _end_batch(
        self, batch: _Batch, report: DispatchReport, recording: list[asyncio.Task[Any]], why: str
    ) -> None:
        """Record the receipts ``batch`` holds, give back what it did not start, let its settlers finish."""
        await self._record_receipts(batch, report)
        if batch.more is not None:  # claimed for a batch that ended meanwhile
            with contextlib.suppress(Exception):
                batch.waiting += await batch.more
        await self._give_back(batch.waiting, why)
        if recording:
            await asyncio.wait(recording)

    async def _deliver(
        self, delivery: Delivery, batch: _Batch, report: DispatchReport, recording: list[asyncio.Task[Any]]
    ) -> str | None:
        """One attempt at one claimed delivery; never raises (but for cancellation). None: its batch goes on
        (a receipt, held by the batch, settled in the background, in ``recording``); else why it ends
        (anything else, recorded, after the receipts held, before this returns)."""
        self._note_lateness(delivery)
        settings = self.adapters.channel_settings(delivery.channel)
        loop = asyncio.get_running_loop()
        started = loop.time()
        batch.sending = delivery
        try:
            outcome = await self._attempt(delivery)
        except asyncio.CancelledError:
            await self._release(delivery)
            raise
        finally:
            batch.sending = None
        self.ahead.sent(delivery.channel, loop.time() - started)
        if isinstance(outcome, Receipt) and outcome.pause_for is None:
            if len(batch.claimed) > 1:
                batch.hold(delivery, outcome, self.clock())
            else:
                recording.append(asyncio.create_task(self._settle(delivery, outcome, settings, report)))
            return None
        await self._record_receipts(batch, report)
        await self._settle(delivery, outcome, settings, report)
        if isinstance(outcome, Receipt):
            return f"the network asked to pause the channel after {delivery.id}"
        return f"{delivery.id} before it in the channel ended {report.outcomes[delivery.id]}"

    async def _settle(
        self,
        delivery: Delivery,
        outcome: Receipt | Exception,
        settings: ChannelSettings | None,
        report: DispatchReport,
    ) -> None:
        """Record the outcome of an attempt; never raises (but for cancellation)."""
        try:
            if isinstance(outcome, Receipt):
                settled = await self.settler.sent(delivery, outcome)
            else:
                settled = await self.settler.failed(delivery, outcome, settings)
        except DeliveryConflict as exc:
            log.error("%s: could not record the outcome: %s", label(delivery), exc)
            settled = Settled(Outcome.CONFLICT, str(exc))
        except Exception:
            log.exception(NOT_RECORDED, label(delivery))
            settled = Settled(Outcome.SENDING, "store error")
        report.outcomes[delivery.id] = settled.state

    async def _record_receipts(self, batch: _Batch, report: DispatchReport) -> None:
        """Record the receipts ``batch`` holds, in one transaction, then announce each (log, event); never
        raises (but for cancellation)."""
        held, batch.held = batch.held, []
        if not held:
            return
        receipts = [(delivery.id, receipt, at) for delivery, receipt, at in held]
        try:
            outcomes: Sequence[Exception | None] = await self.calls(self.store.mark_sent_many, receipts)
        except Exception as exc:  # nothing of it was committed
            outcomes = [exc] * len(held)
        for (delivery, receipt, at), error in zip(held, outcomes, strict=True):
            if error is None:
                report.outcomes[delivery.id] = self.settler.announce_sent(delivery, receipt, at).state
            elif isinstance(error, DeliveryConflict | DeliveryNotFound):
                log.error("%s: could not record the outcome: %s", label(delivery), error)
                report.outcomes[delivery.id] = Outcome.CONFLICT
            else:
                log.error(NOT_RECORDED + ": %s", label(delivery), error)
                report.outcomes[delivery.id] = Outcome.SENDING

    async def _give_back(self, waiting: list[Delivery], why: str) -> None:
        """Release the deliveries of a batch that were not started, saying ``why``."""
        if not waiting:
            return
        ids = [delivery.id for delivery in waiting]
        waiting.clear()
        reason = f"given back unsent by {self.worker_id}: {why}"
        try:
            await self.calls(self.store.release, ids, worker=self.worker_id, reason=reason, now=self.clock())
        except Exception:
            log.exception("could not give back %s; they are reconciled when their lease ends", ", ".join(ids))

    async def _attempt(self, delivery: Delivery) -> Receipt | Exception:
        """Publish through the channel's adapter: its receipt, or the exception it raised."""
        try:
            adapter = self.adapters.get(delivery.channel)
            outgoing = outgoing_for(delivery)
            if self.prepare is not None:
                outgoing = await self.prepare(outgoing)
            return await adapter.publish(outgoing, self.journal_for(delivery))
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
        if log.isEnabledFor(logging.DEBUG):  # the outcome of the attempt is the line at info
            parts = len(delivery.parts)
            log.debug("%s: sending (attempt %d, %d part(s))", label(delivery), delivery.attempts, parts)

    @staticmethod
    @contextlib.asynccontextmanager
    async def _alongside(renewal: Coroutine[Any, Any, None]) -> AsyncIterator[None]:
        """Run ``renewal`` while the body runs, and stop it when the body ends."""
        renewer = asyncio.create_task(renewal)
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    def keep_lease(self, delivery: Delivery) -> contextlib.AbstractAsyncContextManager[None]:
        """Renew the claim on ``delivery`` every third of the lease while the body runs."""
        return self._alongside(self._renew(delivery))

    async def _renew(self, delivery: Delivery) -> None:
        """Keep the claim while the send runs (a long thread must not be taken over)."""
        while True:
            await self.sleep(max(self.lease.total_seconds() / 3, 0.05))
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

    def keep_leases(self, batch: _Batch) -> contextlib.AbstractAsyncContextManager[None]:
        """Renew the claims of ``batch`` every third of the lease while the body runs."""
        return self._alongside(self._renew_batch(batch))

    async def _renew_batch(self, batch: _Batch) -> None:
        """Keep the claims of a batch; one taken over meanwhile is not sent."""
        while True:
            await self.sleep(max(self.lease.total_seconds() / 3, 0.05))
            ids = [delivery.id for delivery in batch.claimed]
            sending = batch.sending
            try:
                held = await self.calls(
                    self.store.renew_leases, ids, worker=self.worker_id, lease_until=self.clock() + self.lease
                )
            except Exception:
                log.exception("could not renew the leases of %s", ", ".join(ids))
                continue
            if sending is not None and sending.id not in held and sending is batch.sending:
                log.error("%s: lost the claim while sending", label(sending))
            for delivery in [d for d in batch.waiting if d.id not in held]:
                batch.waiting.remove(delivery)
                log.error("%s: lost the claim before it was sent; left to its new owner", label(delivery))

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
