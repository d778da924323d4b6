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

    Either way a WARNING is logged: one per post for the first ten, then one line for the rest (after a
    long downtime there may be thousands). Deliveries less than a minute late are simply sent; ``retrying``
    ones keep their retry time (``service.max_age`` bounds them).

    Cost: the late deliveries are read a page at a time and each page is written in ONE transaction (one
    disk flush), so 5,000 late posts take 25 commits, not 5,000, before the worker says it is ready; each
    channel's planner reads the channel's taken slots once. A delivery changed meanwhile (cancelled, edited,
    rescheduled by the operator in another process) is left as it is.
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
from scheduler.store import Delivery, Store
from scheduler.store.misfire_ops import Reslot

log = logging.getLogger("tagcast.service")

PAGE = 200
"""Late deliveries read, decided and written (one transaction) at a time."""
SHOWN = 10
"""Late posts logged one by one at start (then one line for the rest): after a long downtime there may be
thousands."""


# --- misfire policy ----------------------------------------------------------------------------------------


@dataclass
class MisfireReport:
    """Planned deliveries found late at start: sent late (within the grace), moved to a new slot, left to
    go out late because no slot could be found (``stuck``, why), or changed meanwhile and left as they are
    (``changed``, why)."""

    late: dict[str, timedelta] = field(default_factory=dict)
    moved: dict[str, datetime] = field(default_factory=dict)
    stuck: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)


def apply_misfire_policy(
    store: Store, pipeline: Pipeline, settings: Settings, *, now: datetime
) -> MisfireReport:
    """Apply the misfire policy of the module docstring to every planned delivery whose slot passed.

    Reads the late deliveries a page at a time in slot order (an index; each is read once) and writes each
    page's reschedules in one transaction (:meth:`Store.reschedule_many`); a delivery changed meanwhile
    (cancelled, edited, rescheduled) is left as it is. The first :data:`SHOWN` posts are logged one by one,
    the rest in one line.
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
        after: tuple[datetime, str] | None = None
        while True:
            page = self.store.late_planned(cutoff, after=after, limit=PAGE)
            if page:
                after = (page[-1].scheduled_at, page[-1].id)
                self._settle(page)
            if len(page) < PAGE:
                self._summary()
                return self.report

    def _settle(self, page: list[Delivery]) -> None:
        """Decide where each delivery of ``page`` goes, then write all of it in one transaction."""
        decided: list[tuple[Delivery, Reslot, timedelta, datetime | None]] = []
        for delivery in page:
            missed = self.now - delivery.scheduled_at
            if missed <= self.grace:
                reason = (
                    f"missed by {format_duration(missed)} during downtime (within service.misfire_grace = "
                    f"{format_duration(self.grace)}): goes out late"
                )
                decided.append((delivery, Reslot.of(delivery, delivery.scheduled_at, reason), missed, None))
                continue
            at = self._next_slot(delivery, missed)
            if at is None:
                continue
            reason = (
                f"missed by {format_duration(missed)} during downtime (more than service.misfire_grace = "
                f"{format_duration(self.grace)}); moved to the next free slot {at.isoformat()}"
            )
            decided.append((delivery, Reslot.of(delivery, at, reason), missed, at))
        refused = self.store.reschedule_many([reslot for _, reslot, _, _ in decided], now=self.now)
        for delivery, reslot, missed, moved_to in decided:
            conflict = refused.get(delivery.id)
            if conflict is not None:
                self.report.changed[delivery.id] = str(conflict)
                log.info("%s: changed meanwhile, left as it is: %s", label(delivery), conflict)
                continue
            if moved_to is None:
                self.report.late[delivery.id] = missed
            else:
                self.report.moved[delivery.id] = moved_to
            if len(self.report.late) + len(self.report.moved) <= SHOWN:
                log.warning("%s: %s", label(delivery), reslot.reason)

    def _planner(self, channel: str) -> Planner:
        """The channel's planner, fed its taken slots once (one query per channel, however many pages)."""
        planner = self.planners.get(channel)
        if planner is None:
            planner = Planner(self.pipeline.schedules, taken={channel: self.store.taken_slots(channel)})
            self.planners[channel] = planner
        return planner

    def _next_slot(self, delivery: Delivery, missed: timedelta) -> datetime | None:
        """The next free slot of ``delivery``'s channel, reserved for it; None when there is none (it goes
        out late)."""
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
            if len(self.report.stuck) <= SHOWN:
                log.error(
                    "%s: missed by %s during downtime and cannot be re-slotted (%s); it goes out late",
                    label(delivery),
                    format_duration(missed),
                    exc,
                )
            return None
        assert post.scheduled_at is not None
        return post.scheduled_at

    def _summary(self) -> None:
        """One line for the posts not logged one by one."""
        report = self.report
        unnamed = len(report.late) + len(report.moved) - SHOWN
        if unnamed > 0:
            log.warning(
                "... and %d more post(s) missed during downtime (%d in all: %d go out late, %d moved to "
                "their channel's next free slot); `tagcast queue show ID` says which for each",
                unnamed,
                len(report.late) + len(report.moved),
                len(report.late),
                len(report.moved),
            )
        if len(report.stuck) > SHOWN:
            log.error(
                "... and %d more post(s) missed during downtime cannot be re-slotted (%d in all); they go "
                "out late",
                len(report.stuck) - SHOWN,
                len(report.stuck),
            )


def schedule_of(pipeline: Pipeline, settings: Settings, delivery: Delivery) -> str:
    """The schedule that plans ``delivery``'s channel for its article (the route's), as the pipeline would."""
    for route in pipeline.router.route(delivery.to_article()):
        if route.channel == delivery.channel and route.schedule in pipeline.schedules:
            return route.schedule
    channel = settings.channels.get(delivery.channel)
    if channel is not None and channel.schedule in pipeline.schedules:
        return channel.schedule
    return settings.defaults.schedule
