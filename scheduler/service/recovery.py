"""What the service does before it sends anything: settle crash leftovers, and catch up after downtime.

Crash leftovers
    A delivery left in ``sending`` by a worker that died (its lease ran out) is taken over atomically
    (:meth:`Store.claim_stale`) and its adapter's :meth:`~scheduler.adapters.base.Adapter.reconcile` decides:
    a receipt -> ``sent``; ``None`` (surely not posted) -> ``retrying`` now, safe to send again with the same
    key; UnknownOutcome -> ``unknown``, never resent automatically (``tagcast queue resolve``). When the
    network cannot be asked right now (a transient error), the row stays in ``sending`` and is asked again
    when its new, short lease ends. This runs at start and then periodically (other workers die too).

    A dead worker may have held a batch of a channel (:mod:`scheduler.service.dispatcher`): several rows in
    ``sending``, of which it sent them one at a time, each only after the one before was answered with a
    receipt. They are reconciled one at a time in slot order (``claim_stale`` takes none behind a live one of
    its channel). When one is surely not posted (``None``: now ``retrying``), none after it was started:
    they are given back unsent, with no network call. When one cannot be asked now, the ones after it wait
    for it, so that the channel's posts still go out in slot order.

Misfire policy (after downtime)
    A ``planned`` delivery whose slot passed while the service was down is handled at start by how late it is:

    - late by at most ``service.misfire_grace`` (default 30m): it goes out now, late. The history gets
      "missed by 12m during downtime (within service.misfire_grace = 30m): goes out late";
    - late by more: it takes the next free slot of its channel's schedule (the pipeline's own planner, with
      the channel's taken slots), keeping the order of the channel's posts. The history gets
      "missed by 3h12m during downtime (more than service.misfire_grace = 30m); moved to the next free slot
      2026-03-09T09:04:00+01:00".

    Either way a WARNING is logged. Deliveries less than a minute late are simply sent; ``retrying`` ones keep
    their retry time (``service.max_age`` bounds them).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.adapters.base import Receipt
from scheduler.config.durations import format_duration
from scheduler.config.settings import Settings
from scheduler.errors import DeliveryError, ScheduleError, TransientDeliveryError, UnknownOutcome
from scheduler.models import Post
from scheduler.pipeline import Pipeline
from scheduler.planning import Planner
from scheduler.service.channels import ChannelUnavailable, scrub
from scheduler.service.dispatcher import LATE_NOTICE, Dispatcher, outgoing_for
from scheduler.service.outcomes import Outcome, label
from scheduler.service.retry import later
from scheduler.store import Delivery, DeliveryConflict, DeliveryState, Store

log = logging.getLogger("tagcast.service")

PAGE = 200


# --- crash leftovers ---------------------------------------------------------------------------------------


async def reconcile_stale(dispatcher: Dispatcher, now: datetime) -> dict[str, Outcome]:
    """Take over every ``sending`` delivery whose lease expired and settle it through its adapter: channels
    in parallel (``service.concurrency``), the deliveries of one channel one at a time, in slot order (see
    the module docstring).

    Returns delivery id -> the state it was left in (``sending`` when the network could not be asked,
    ``planned``/``retrying`` when given back unsent).
    """
    outcomes: dict[str, Outcome] = {}
    limit = asyncio.Semaphore(dispatcher.workspace.settings.service.concurrency)
    unsent: set[str] = set()  # channels whose remaining deliveries were surely not started
    waiting: set[str] = set()  # channels waiting for one that could not be asked now

    async def channel(name: str, deliveries: list[Delivery]) -> None:
        async with limit:
            for index, delivery in enumerate(deliveries):
                if name in unsent:
                    await _give_back(dispatcher, deliveries[index:], outcomes)
                    return
                outcome = outcomes[delivery.id] = await _reconcile(dispatcher, delivery)
                if outcome is Outcome.RETRYING:
                    unsent.add(name)
                elif outcome is Outcome.SENDING:
                    waiting.add(name)
                    return

    while True:
        taken = await dispatcher.calls(
            dispatcher.store.claim_stale, now, worker=dispatcher.worker_id, lease=dispatcher.lease, limit=50
        )
        fresh = [d for d in taken if d.id not in outcomes and d.channel not in waiting]
        if not fresh:
            return outcomes
        by_channel: dict[str, list[Delivery]] = {}
        for delivery in fresh:  # in slot order
            by_channel.setdefault(delivery.channel, []).append(delivery)
        await asyncio.gather(*(channel(name, batch) for name, batch in by_channel.items()))


async def _give_back(
    dispatcher: Dispatcher, deliveries: list[Delivery], outcomes: dict[str, Outcome]
) -> None:
    """Release deliveries of a dead worker's batch that were surely not started (no network call)."""
    reason = (
        "reconciled after an interrupted batch: the delivery before it in its channel was not posted, "
        "so this one was never started; queued again"
    )
    released = await dispatcher.calls(
        dispatcher.store.release,
        [d.id for d in deliveries],
        worker=dispatcher.worker_id,
        reason=reason,
        now=dispatcher.clock(),
    )
    for delivery in deliveries:
        if delivery.id in released:
            back = Outcome.RETRYING if delivery.next_attempt_at is not None else Outcome.PLANNED
            outcomes[delivery.id] = back
            log.warning("%s: was claimed but not sent before the interruption; queued again", label(delivery))


async def _reconcile(dispatcher: Dispatcher, delivery: Delivery) -> Outcome:
    store, calls = dispatcher.store, dispatcher.calls
    settings = dispatcher.adapters.channel_settings(delivery.channel)
    log.warning(
        "%s: was left in sending by %s; reconciling", label(delivery), delivery.claimed_by or "a worker"
    )
    try:
        try:
            adapter = dispatcher.adapters.get(delivery.channel)
            async with dispatcher.keep_lease(delivery):
                receipt: Receipt | None = await adapter.reconcile(
                    outgoing_for(delivery), dispatcher.journal_for(delivery)
                )
        except UnknownOutcome as exc:
            reason = scrub(exc.reason, settings)
            await calls(
                store.mark_unknown,
                delivery.id,
                reason=f"after an interrupted send: {reason}",
                now=dispatcher.clock(),
            )
            log.warning(
                "%s: outcome unknown after an interrupted send, not resent: %s", label(delivery), reason
            )
            return Outcome.UNKNOWN
        except TransientDeliveryError as exc:
            policy = dispatcher.settler.policy
            wait = max(policy.backoff_base, policy.server_wait(exc.retry_after) or timedelta(0))
            await calls(
                store.renew_lease,
                delivery.id,
                worker=dispatcher.worker_id,
                lease_until=later(dispatcher.clock(), wait),
            )
            log.warning(
                "%s: cannot reconcile now (%s); asking again in %s",
                label(delivery),
                scrub(exc.reason, settings),
                format_duration(wait),
            )
            return Outcome.SENDING
        except (DeliveryError, ChannelUnavailable) as exc:
            reason = scrub(str(exc), settings)
            await calls(
                store.mark_unknown,
                delivery.id,
                reason=f"could not check after an interrupted send: {reason}",
                now=dispatcher.clock(),
            )
            log.warning("%s: could not reconcile, marked unknown: %s", label(delivery), reason)
            return Outcome.UNKNOWN
        except Exception as exc:
            text = scrub("".join(traceback.format_exception(exc)), settings)
            log.error("%s: reconcile crashed (a bug), marked unknown:\n%s", label(delivery), text)
            reason = scrub(f"{type(exc).__name__}: {exc}", settings)
            await calls(
                store.mark_unknown,
                delivery.id,
                reason=f"reconcile failed (a bug; see the log): {reason}",
                now=dispatcher.clock(),
            )
            return Outcome.UNKNOWN
        if receipt is not None:
            await dispatcher.settler.sent(delivery, receipt)
            return Outcome.SENT
        now = dispatcher.clock()
        await calls(
            store.mark_retry,
            delivery.id,
            at=now,
            now=now,
            reason="reconciled after an interrupted send: it was not posted, so it is safe to send again",
        )
        log.warning("%s: was not posted before the interruption; sending it again", label(delivery))
        return Outcome.RETRYING
    except DeliveryConflict as exc:
        log.warning("%s: changed while it was being reconciled: %s", label(delivery), exc)
        return Outcome.CONFLICT


# --- misfire policy ----------------------------------------------------------------------------------------


@dataclass
class MisfireReport:
    """Planned deliveries found late at start: sent late (within the grace) or moved to a new slot."""

    late: dict[str, timedelta] = field(default_factory=dict)
    moved: dict[str, datetime] = field(default_factory=dict)
    stuck: dict[str, str] = field(default_factory=dict)


def apply_misfire_policy(
    store: Store, pipeline: Pipeline, settings: Settings, *, now: datetime
) -> MisfireReport:
    """Apply the misfire policy of the module docstring to every planned delivery whose slot passed.

    Reads the queue a page at a time in slot order and stops at the first delivery that is not late, so a
    large queue costs one indexed query.
    """
    return _Misfire(store, pipeline, settings, now).run()


class _Misfire:
    def __init__(self, store: Store, pipeline: Pipeline, settings: Settings, now: datetime) -> None:
        self.store = store
        self.pipeline = pipeline
        self.settings = settings
        self.now = now
        self.grace = settings.service.misfire_grace
        self.report = MisfireReport()
        self.planners: dict[str, Planner] = {}

    def run(self) -> MisfireReport:
        cutoff = self.now - LATE_NOTICE
        kept = 0  # late deliveries that stay where they are, at the head of the listing
        while True:
            page = self.store.list(states=[DeliveryState.PLANNED], limit=PAGE, offset=kept)
            late = [d for d in page if d.scheduled_at < cutoff]
            for delivery in late:
                missed = self.now - delivery.scheduled_at
                if missed <= self.grace:
                    self._go_late(delivery, missed)
                    kept += 1
                elif not self._reslot(delivery, missed):
                    kept += 1
            if len(late) < len(page) or len(page) < PAGE:
                return self.report

    def _go_late(self, delivery: Delivery, missed: timedelta) -> None:
        reason = (
            f"missed by {format_duration(missed)} during downtime (within service.misfire_grace = "
            f"{format_duration(self.grace)}): goes out late"
        )
        try:
            self.store.reschedule(delivery.id, delivery.scheduled_at, now=self.now, reason=reason)
        except DeliveryConflict:
            return
        self.report.late[delivery.id] = missed
        log.warning("%s: %s", label(delivery), reason)

    def _planner(self, channel: str) -> Planner:
        planner = self.planners.get(channel)
        if planner is None:
            planner = Planner(self.pipeline.schedules, taken={channel: self.store.taken_slots(channel)})
            self.planners[channel] = planner
        return planner

    def _reslot(self, delivery: Delivery, missed: timedelta) -> bool:
        """Move ``delivery`` to its channel's next free slot; False when there is none (it goes out late)."""
        post = Post(
            article=dataclasses.replace(delivery.to_article(), publish_at=None),
            channel=delivery.channel,
            network=delivery.network,
            rule=delivery.rule,
            template=delivery.template,
            parts=tuple(delivery.parts),
            lengths=tuple(delivery.lengths),
            limit=delivery.limit,
            unit=delivery.unit,
        )
        try:
            schedule = schedule_of(self.pipeline, self.settings, delivery)
            post = self._planner(delivery.channel).place(post, schedule, self.now)
        except (ScheduleError, KeyError) as exc:
            self.report.stuck[delivery.id] = str(exc)
            log.error(
                "%s: missed by %s during downtime and cannot be re-slotted (%s); it goes out late",
                label(delivery),
                format_duration(missed),
                exc,
            )
            return False
        assert post.scheduled_at is not None
        at = post.scheduled_at
        reason = (
            f"missed by {format_duration(missed)} during downtime (more than service.misfire_grace = "
            f"{format_duration(self.grace)}); moved to the next free slot {at.isoformat()}"
        )
        try:
            self.store.reschedule(delivery.id, at, now=self.now, reason=reason)
        except DeliveryConflict:
            return True
        self.report.moved[delivery.id] = at
        log.warning("%s: %s", label(delivery), reason)
        return True


def schedule_of(pipeline: Pipeline, settings: Settings, delivery: Delivery) -> str:
    """The schedule that plans ``delivery``'s channel for its article (the route's), as the pipeline would."""
    for route in pipeline.router.route(delivery.to_article()):
        if route.channel == delivery.channel and route.schedule in pipeline.schedules:
            return route.schedule
    channel = settings.channels.get(delivery.channel)
    if channel is not None and channel.schedule in pipeline.schedules:
        return channel.schedule
    return settings.defaults.schedule
