"""What the service does at start, after downtime: the misfire policy.

(Crash leftovers are settled by :class:`scheduler.service.dispatcher.Reconciler`.)

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

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.config.durations import format_duration
from scheduler.config.settings import Settings
from scheduler.errors import ScheduleError
from scheduler.models import Post
from scheduler.pipeline import Pipeline
from scheduler.planning import Planner
from scheduler.service.dispatcher import LATE_NOTICE
from scheduler.service.outcomes import label
from scheduler.store import Delivery, DeliveryConflict, DeliveryState, Store

log = logging.getLogger("tagcast.service")

PAGE = 200


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
