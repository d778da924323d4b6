"""Send what is due: claim one post per channel, publish it, settle it.

::

    async with httpx.AsyncClient(timeout=30) as http:
        dispatcher = Dispatcher(workspace, store, http, worker_id="host-1234", events=monitor.bus)
        report = await dispatcher.run_due(datetime.now(UTC))

One post, from claim to receipt (:meth:`Dispatcher.run_due`, then :meth:`Dispatcher.send`):

1. Claim. :meth:`Store.claim_due` moves the head of each due channel's queue (its earliest slot) to
   ``sending`` (attempts + 1, leased to this worker until ``now + service.lease``), one post per channel, for
   as many channels as there are free slots (``service.concurrency``). The service claims up to ``lead``
   (a few milliseconds) before the due instant, so that the claim's commit is on disk by then, and publishes
   at that instant, not before. A paused channel, or one with a post
   in ``sending``, gets nothing: a channel sends one post at a time, in slot order. The claim is committed,
   on disk, before anything goes out. Until its claim a post is ``planned``: an edit of its article
   re-renders it and ``tagcast queue cancel`` takes it back; nothing else of its channel is held.
2. Prepare. :func:`outgoing_for` builds what the adapter sees from the stored row; the injected ``prepare``
   fills in its images and link card (outside the store thread). It may raise the delivery errors of
   :mod:`scheduler.errors`, which settle like the adapter's.
3. Publish. ``adapter.publish(outgoing, journal)``: the adapter saves its journal (committed to the row)
   before each network call, so a crash leaves enough to tell what went out. While it runs the lease is
   renewed every third of the lease (:class:`Leases`).
4. Settle. :meth:`Settler.settle <scheduler.service.outcomes.Settler.settle>` records the receipt or the
   error: one store transition, one log line, one event (the table in :mod:`scheduler.service.outcomes`).
   The slot is then free. The commit that records a receipt also claims for it, as step 1 does (one
   commit a post, not two): what it claims, possibly the same channel's next post, is sent by the same
   slot (:meth:`Dispatcher._slot`). After an error, or when nothing was due, the round claims for the free
   slot itself. While sends are in flight the round also wakes ``lead`` before the next due instant of a
   free channel, so that a post of another channel is not held up by a slow send.

A worker that dies leaves its post in ``sending``; once its lease ends, :class:`Reconciler` takes it over,
asks the adapter what happened (:meth:`~scheduler.adapters.base.Adapter.reconcile`) and settles it through
the same Settler. A stop (``stop_claiming``) claims
nothing more and lets sends in flight finish; a send cut short by cancellation gets its lease ended at once,
so that the next start reconciles it.

Time is a parameter: ``clock`` (the current UTC time) and ``sleep`` (how renewals wait) are passed in, so a
test moves time instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scheduler.adapters.base import Journal, Outgoing, Receipt
from scheduler.config.durations import format_duration
from scheduler.config.loader import Workspace
from scheduler.errors import TransientDeliveryError
from scheduler.service.channels import AdapterCache, scrub
from scheduler.service.events import EventBus
from scheduler.service.health import SendWatch
from scheduler.service.outcomes import Outcome, Settled, Settler, label
from scheduler.service.retry import RetryPolicy, later
from scheduler.service.storecalls import StoreCalls
from scheduler.store import ClaimRequest, Delivery, DeliveryConflict, Store

log = logging.getLogger("tagcast.service")

LATE_NOTICE = timedelta(minutes=1)
"""A first attempt this much after its slot is logged as late."""
LATE_LINES = 10
"""Late posts named one line each in a round; the rest are summed up in one line when the round ends."""

Prepare = Callable[[Outgoing], Awaitable[Outgoing]]
"""Fills in what a post carries besides its text (images, a link card), right before it is published."""


def utc_now() -> datetime:
    return datetime.now(UTC)


async def as_stored(post: Outgoing) -> Outgoing:
    """The default ``prepare``: the post as stored, with no images or card."""
    return post


def outgoing_for(delivery: Delivery) -> Outgoing:
    """The delivery as its adapter sees it: the parts exactly as stored, the key chosen at insert."""
    return Outgoing(
        delivery_id=delivery.id,
        idempotency_key=delivery.idempotency_key,
        parts=delivery.parts,
        article=delivery.to_article(),
        channel=delivery.channel,
    )


def due_instant(delivery: Delivery) -> datetime:
    """When ``delivery`` may go out: its next attempt time when it is a retry, else its slot."""
    return delivery.next_attempt_at or delivery.scheduled_at


def journal_for(delivery: Delivery, store: Store, calls: StoreCalls) -> Journal:
    """The delivery's journal as saved; ``Journal.save`` commits it to the row before returning."""

    async def save(state: dict[str, Any]) -> None:
        await calls(store.save_journal, delivery.id, dict(state))

    return Journal(state=dict(delivery.journal), saver=save)


@dataclass
class DispatchReport:
    """What one :meth:`Dispatcher.run_due` did: delivery id -> what it was left as."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def claimed(self) -> int:
        return len(self.outcomes)

    def count(self, state: Outcome | str) -> int:
        return sum(1 for value in self.outcomes.values() if value == state)

    def __str__(self) -> str:
        states = sorted(set(self.outcomes.values()))
        return ", ".join(f"{self.count(s)} {s}" for s in states) or "nothing due"


class LateNotices:
    """The "going out late" lines of one round: the first :data:`LATE_LINES` posts one line each, then one
    line that sums up the rest (after a downtime thousands may go out late; the log names a few)."""

    def __init__(self) -> None:
        self.named = 0
        self.more = 0
        self.latest = timedelta(0)

    def note(self, delivery: Delivery, late: timedelta) -> None:
        if self.named < LATE_LINES:
            self.named += 1
            log.warning(
                "%s: going out %s late (planned for %s)",
                label(delivery),
                format_duration(late),
                delivery.local_scheduled_at.isoformat(),
            )
        else:
            self.more += 1
            self.latest = max(self.latest, late)

    def sum_up(self) -> None:
        if self.more:
            log.warning(
                "... and %d more post(s) went out late in this round, up to %s late "
                "(`tagcast queue list --state sent` lists them)",
                self.more,
                format_duration(self.latest),
            )


class Leases:
    """This worker's claims: how long they last, and their renewal while a send runs."""

    def __init__(
        self,
        store: Store,
        calls: StoreCalls,
        *,
        worker_id: str,
        lease: timedelta,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.store = store
        self.calls = calls
        self.worker_id = worker_id
        self.lease = lease
        self.clock = clock
        self.sleep = sleep

    @contextlib.asynccontextmanager
    async def kept(self, delivery: Delivery) -> AsyncIterator[None]:
        """Renew the claim on ``delivery`` every third of the lease while the body runs.

        When the body ends the renewal is cancelled, not waited for (that would hold the receipt back two
        turns of the event loop). No renewal can land after the receipt: one not yet handed to the store
        thread never is, and one already handed over runs before the receipt, since the thread runs calls
        in the order they came (one whose caller was cancelled before it began is skipped)."""
        renewer = asyncio.create_task(self._renew(delivery))
        try:
            yield
        finally:
            renewer.cancel()

    async def _renew(self, delivery: Delivery) -> None:
        while True:
            await self.sleep(max(self.lease.total_seconds() / 3, 0.05))
            try:
                await self.extend(delivery, self.clock() + self.lease)
            except DeliveryConflict as exc:
                log.error("%s: lost the claim while sending: %s", label(delivery), exc)
                return
            except Exception:
                log.exception("%s: could not renew the lease", label(delivery))

    async def extend(self, delivery: Delivery, until: datetime) -> None:
        """Hold the claim on ``delivery`` until ``until`` (DeliveryConflict: it is no longer ours)."""
        await self.calls(self.store.renew_lease, delivery.id, worker=self.worker_id, lease_until=until)

    async def end(self, delivery: Delivery) -> None:
        """A send was cut short (shutdown): end its lease now, so the next start reconciles it at once."""
        try:
            await asyncio.shield(self.extend(delivery, self.clock()))
            log.warning(
                "%s: send interrupted by shutdown; it is reconciled at the next start", label(delivery)
            )
        except Exception as exc:  # the row may have been settled meanwhile
            log.warning("%s: send interrupted by shutdown (%s)", label(delivery), exc)


class Dispatcher:
    """Claims due deliveries and sends them; one per process (``worker_id`` names it in claims and logs).

    Its collaborators come in here: the HTTP client the adapters share, the event bus outcomes are emitted
    on, the store thread (``calls``), the clock and sleep, the random source of retry jitter, and
    ``prepare`` (see the module docstring).
    """

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        http: httpx.AsyncClient,
        *,
        worker_id: str,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        calls: StoreCalls | None = None,
        events: EventBus | None = None,
        rng: random.Random | None = None,
        prepare: Prepare = as_stored,
        lead: timedelta = timedelta(0),
        sends: SendWatch | None = None,
    ) -> None:
        self.workspace = workspace
        self.lead = lead
        """How long before its due instant a post may be claimed; it is published at that instant."""
        self.sleep = sleep
        self.store = store
        self.sends = sends or SendWatch(clock)
        """Told when each send starts and ends: ``/healthz`` names a channel whose send does not return."""
        self.worker_id = worker_id
        self.clock = clock
        self.calls = calls or StoreCalls(store.one_transaction, pinned=store.pinned)
        self.prepare = prepare
        self.events = events or EventBus()
        self.rng = rng or random.Random()
        self.adapters = AdapterCache(workspace.settings, workspace.root, http)
        self._use(workspace)
        self._claiming = True

    def _use(self, workspace: Workspace) -> None:
        """Build what depends on ``[service]``: the leases, the Settler and the Reconciler."""
        service = workspace.settings.service
        self.workspace = workspace
        self.leases = Leases(
            self.store,
            self.calls,
            worker_id=self.worker_id,
            lease=service.lease,
            clock=self.clock,
            sleep=self.sleep,
        )
        policy = RetryPolicy.from_settings(service)
        self.settler = Settler(
            self.store, self.calls, policy=policy, clock=self.clock, rng=self.rng, events=self.events
        )
        self.reconciler = Reconciler(
            self.store,
            self.calls,
            self.adapters,
            self.settler,
            self.leases,
            concurrency=service.concurrency,
            prepare=self.prepare,
        )

    def reload(self, workspace: Workspace) -> None:
        """Use a new config: adapters are rebuilt on next use, and the leases, Settler and Reconciler are
        built again from its ``[service]``. A send in flight keeps its adapter and its lease renewal; its
        outcome is settled under the new retry policy."""
        self.adapters.reload(workspace.settings)
        self._use(workspace)

    def stop_claiming(self) -> None:
        """Claim nothing more (shutdown); sends in flight go on."""
        self._claiming = False

    async def reconcile_stale(self, now: datetime) -> dict[str, Outcome]:
        """Settle what dead workers left in ``sending`` (:meth:`Reconciler.run`)."""
        return await self.reconciler.run(now)

    async def run_due(self, now: datetime) -> DispatchReport:
        """Send every delivery due at ``now`` (or by the clock, once it is later), up to
        ``service.concurrency`` channels at once, and return what happened. Returns when nothing more can be
        claimed and nothing is in flight.

        If cancelled (shutdown timeout), the sends in flight are cancelled and their leases ended, so the
        next start reconciles them at once.
        """
        report = DispatchReport()
        late = LateNotices()
        sending: set[asyncio.Task[None]] = set()
        waking: asyncio.Future[None] | None = None
        try:
            while True:
                free = self.workspace.settings.service.concurrency - len(sending)
                if self._claiming and free > 0:
                    horizon = max(now, self.clock()) + self.lead
                    claimed = await self.calls(
                        self.store.claim_due,
                        horizon,
                        worker=self.worker_id,
                        lease=self.leases.lease,
                        limit=free,
                    )
                    for delivery in claimed:
                        slot = self._slot(delivery, now, report, late)
                        sending.add(asyncio.create_task(slot, name=delivery.id))
                    if sending and len(sending) < self.workspace.settings.service.concurrency:
                        waking = await self._wake_for_next(horizon, waking)
                if not sending:
                    return report
                done, _ = await asyncio.wait(
                    sending if waking is None else {*sending, waking}, return_when=asyncio.FIRST_COMPLETED
                )
                sending -= done
                if waking is not None and waking.done():
                    waking = None
        except asyncio.CancelledError:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise
        finally:
            if waking is not None:
                waking.cancel()
            late.sum_up()

    async def _wake_for_next(
        self, horizon: datetime, waking: asyncio.Future[None] | None
    ) -> asyncio.Future[None] | None:
        """While sends are in flight, a timer that ends ``lead`` before the next post of another channel falls
        due, so that the round claims it on time instead of when a send in flight happens to finish. None
        (only the sends wake the round) when nothing else is due, or when what is due now could not be
        claimed (another worker's, or no free slot): a send's end is then the next chance."""
        if waking is not None:
            waking.cancel()
        upcoming = await self.calls(self.store.next_due, self.clock())
        if upcoming is None or upcoming <= horizon:
            return None
        seconds = (upcoming - self.lead - self.clock()).total_seconds()
        return asyncio.ensure_future(self.sleep(max(seconds, 0)))

    async def _slot(
        self, delivery: Delivery, now: datetime, report: DispatchReport, late: LateNotices
    ) -> None:
        """One slot of the round: ``delivery``, then what each receipt's commit claimed next, until nothing
        more is due (then the round claims for the free slot, or ends)."""
        claimed: Delivery | None = delivery
        while claimed is not None:
            settled = await self.send(claimed, late, then_claim=self._refill(now))
            report.outcomes[claimed.id] = settled.state
            claimed = settled.claimed[0] if settled.claimed else None

    def _refill(self, now: datetime) -> ClaimRequest | None:
        """What a receipt's commit claims for the slot it frees: the head of the channel due longest, as the
        round's own claims (none once claiming has stopped)."""
        if not self._claiming:
            return None
        return ClaimRequest(max(now, self.clock()) + self.lead, self.worker_id, self.leases.lease, limit=1)

    async def send(
        self, delivery: Delivery, late: LateNotices | None = None, *, then_claim: ClaimRequest | None = None
    ) -> Settled:
        """One attempt at one claimed delivery, settled; never raises (but for cancellation, which ends its
        lease). A first attempt going out late is logged through ``late`` (the round's). ``then_claim``: see
        :meth:`Settler.settle <scheduler.service.outcomes.Settler.settle>`."""
        settings = self.adapters.channel_settings(delivery.channel)
        try:
            early = min(due_instant(delivery) - self.clock(), self.lead).total_seconds()
            if early > 0:  # claimed within the lead: published at its instant
                await self.sleep(early)
            self._note_lateness(delivery, late or LateNotices())
            async with self.leases.kept(delivery):
                result = await self._publish(delivery)
        except asyncio.CancelledError:
            await self.leases.end(delivery)
            raise
        return await self.settler.settle(delivery, result, settings, then_claim=then_claim)

    async def _publish(self, delivery: Delivery) -> Receipt | Exception:
        """Prepare the post and publish it through the channel's adapter: its receipt, or what was raised."""
        try:
            adapter = self.adapters.get(delivery.channel)
            with self.sends.sending(delivery.id, delivery.channel):
                post = await self.prepare(outgoing_for(delivery))
                return await adapter.publish(post, journal_for(delivery, self.store, self.calls))
        except Exception as exc:
            return exc

    def _note_lateness(self, delivery: Delivery, late: LateNotices) -> None:
        if delivery.attempts == 1:
            behind = self.clock() - delivery.scheduled_at
            if behind > LATE_NOTICE:
                late.note(delivery, behind)
                return
        if log.isEnabledFor(logging.DEBUG):  # the outcome of the attempt is the line at info
            parts = len(delivery.parts)
            log.debug("%s: sending (attempt %d, %d part(s))", label(delivery), delivery.attempts, parts)


class Reconciler:
    """Settles what dead workers left in ``sending``, through the dispatcher's Settler.

    A delivery whose lease ran out is taken over atomically (:meth:`Store.claim_stale`, so only one worker
    reconciles it) and its adapter's :meth:`~scheduler.adapters.base.Adapter.reconcile` decides: a receipt
    -> ``sent``; ``None`` (surely not posted) -> ``retrying`` now, safe to send again with the same key; an
    error -> ``unknown``, never resent automatically (``tagcast queue resolve``). When the network cannot be
    asked right now (a transient error), the row stays in ``sending`` and is asked again when its new,
    longer lease ends; the channel's later leftovers wait for it, so its posts still go out in slot order.
    """

    def __init__(
        self,
        store: Store,
        calls: StoreCalls,
        adapters: AdapterCache,
        settler: Settler,
        leases: Leases,
        *,
        concurrency: int,
        prepare: Prepare = as_stored,
    ) -> None:
        self.store = store
        self.calls = calls
        self.adapters = adapters
        self.settler = settler
        self.leases = leases
        self.concurrency = concurrency
        self.prepare = prepare

    async def run(self, now: datetime) -> dict[str, Outcome]:
        """Take over every ``sending`` delivery whose lease ended by ``now`` and settle it: channels in
        parallel (``service.concurrency``), the leftovers of one channel one at a time, in slot order.
        Delivery id -> the state it was left in."""
        outcomes: dict[str, Outcome] = {}
        limit = asyncio.Semaphore(self.concurrency)
        waiting: set[str] = set()  # channels waiting for one that could not be asked now

        async def channel(name: str, deliveries: list[Delivery]) -> None:
            async with limit:
                for delivery in deliveries:
                    outcome = outcomes[delivery.id] = await self.reconcile(delivery)
                    if outcome is Outcome.SENDING:
                        waiting.add(name)
                        return

        while True:
            taken = await self.calls(
                self.store.claim_stale,
                now,
                worker=self.leases.worker_id,
                lease=self.leases.lease,
                limit=50,
            )
            fresh = [d for d in taken if d.id not in outcomes and d.channel not in waiting]
            if not fresh:
                return outcomes
            by_channel: dict[str, list[Delivery]] = {}
            for delivery in fresh:  # in slot order
                by_channel.setdefault(delivery.channel, []).append(delivery)
            await asyncio.gather(*(channel(name, each) for name, each in by_channel.items()))

    async def reconcile(self, delivery: Delivery) -> Outcome:
        """Ask the adapter what became of ``delivery`` and settle it (``sending``: ask again later)."""
        settings = self.adapters.channel_settings(delivery.channel)
        worker = delivery.claimed_by or "a worker"
        log.warning("%s: was left in sending by %s; reconciling", label(delivery), worker)
        found: Receipt | Exception | None
        try:
            adapter = self.adapters.get(delivery.channel)
            post = await self.prepare(outgoing_for(delivery))
            async with self.leases.kept(delivery):
                found = await adapter.reconcile(post, journal_for(delivery, self.store, self.calls))
        except TransientDeliveryError as exc:
            return await self._later(delivery, exc, scrub(exc.reason, settings))
        except Exception as exc:
            found = exc
        return (await self.settler.settle_reconciled(delivery, found, settings)).state

    async def _later(self, delivery: Delivery, error: TransientDeliveryError, reason: str) -> Outcome:
        """The network cannot be asked now: keep the claim until it may be asked again."""
        policy = self.settler.policy
        wait = max(policy.backoff_base, policy.server_wait(error.retry_after) or timedelta(0))
        try:
            await self.leases.extend(delivery, later(self.leases.clock(), wait))
        except DeliveryConflict as exc:
            log.warning("%s: changed meanwhile, left to its new owner: %s", label(delivery), exc)
            return Outcome.CONFLICT
        log.warning(
            "%s: cannot reconcile now (%s); asking again in %s",
            label(delivery),
            reason,
            format_duration(wait),
        )
        return Outcome.SENDING
