"""Slot planning: when each post of a channel goes out. Pure: no database, no clock, no APScheduler.

A :class:`Schedule` holds weekly :class:`SlotSpec` slots in an IANA time zone and the channel's limits; a
:class:`SlotPlanner` hands out the next free slot for each post::

    schedule = Schedule.create("weekdays", timezone="Europe/Berlin", slots=["mon-fri 09:00", "mon-fri 13:30"])
    planner = SlotPlanner(schedule, taken=queued_times)
    planner.reserve(article.publish_at)                       # a fixed time wins, no checks
    at = planner.next_slot(now, key=f"{article.source}|bsky")  # aware, in Europe/Berlin

Slot times are computed here with :mod:`zoneinfo`, not with APScheduler's ``CronTrigger``, which returns wall
times that do not exist in a spring-forward gap.
"""

from __future__ import annotations

from scheduler.slots.planner import SEARCH_HORIZON, SlotPlanner
from scheduler.slots.schedule import Schedule, jitter_for
from scheduler.slots.spec import SLOT_FORMS, SlotSpec, parse_slot

__all__ = ["SEARCH_HORIZON", "SLOT_FORMS", "Schedule", "SlotPlanner", "SlotSpec", "jitter_for", "parse_slot"]
