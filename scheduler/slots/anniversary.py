"""Anniversaries: an article with ``event_date``, routed by a rule with ``anniversary = true``, is planned on
its next anniversary, at the first slot of the channel's schedule that day, in the schedule's zone.

``event_date`` is a date (``1939-08-20``) or a range (``1939-05-11..1939-09-16``: the anniversary is that of
its first day). A 29 February is remembered on 28 February in other years. When today is the anniversary and
a slot of today is still ahead, that slot is taken; else the next year's. Templates get ``event_date`` (the
first day, a date), ``event_end`` (the last day of a range), ``anniversary`` (the date it is posted on) and
``years_ago``::

    {{ years_ago }} years ago today, {{ title }}

The time is given to the article as its ``publish_at`` (a fixed time, as if written in its front matter), so
planning, the queue and their checks treat it as any fixed time. An article whose front matter fixes
``publish_at`` keeps it; an article without ``event_date`` is planned into the next free slot as usual.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any

from scheduler.models import Article
from scheduler.slots.schedule import Schedule

EVENT_DATE_HINT = "write event_date: 1939-08-20, or a range: event_date: 1939-05-11..1939-09-16"


class EventDateError(ValueError):
    """``event_date`` is not a date or a range of dates."""


def event_dates(value: Any) -> tuple[date, date]:
    """(first day, last day) of an ``event_date`` value; :class:`EventDateError` when it is neither."""
    if isinstance(value, datetime):
        return value.date(), value.date()
    if isinstance(value, date):
        return value, value
    if isinstance(value, str):
        first, sep, last = value.strip().partition("..")
        try:
            start = date.fromisoformat(first.strip())
            end = date.fromisoformat(last.strip()) if sep else start
        except ValueError:
            raise EventDateError(f"event_date: {value!r} is not a date or a range of dates") from None
        if end < start:
            raise EventDateError(f"event_date: the range {value!r} ends before it starts")
        return start, end
    raise EventDateError(f"event_date: expected a date, got {type(value).__name__}")


def on_year(day: date, year: int) -> date:
    """``day`` in ``year``; 29 February becomes 28 February in a year that has none."""
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def anniversary_slot(event: date, schedule: Schedule, now: datetime) -> tuple[date, datetime | None]:
    """The next anniversary of ``event`` with a slot still ahead of ``now`` (this year's, or next year's once
    today's slots are past), and its first slot; the slot is None when the schedule has none that day."""
    zone = schedule.zone
    today = now.astimezone(zone).date()
    day = on_year(event, today.year)
    if day < today:
        day = on_year(event, today.year + 1)
    for _ in range(2):
        start = datetime.combine(day, time(0), zone)
        end = datetime.combine(day + timedelta(days=1), time(0), zone)
        if any(True for _ in schedule.slot_times(start, end)):
            for slot in schedule.slot_times(max(start, now), end):
                return day, slot
            day = on_year(event, day.year + 1)  # today, but its slots are past
            continue
        return day, None
    return day, None


def plan_anniversary(article: Article, schedule: Schedule, now: datetime) -> tuple[Article, str | None]:
    """``article`` with its anniversary time and template variables, or with a problem to report."""
    if article.publish_at is not None or "event_date" not in article.extra:
        return article, None
    try:
        first, last = event_dates(article.extra["event_date"])
    except EventDateError as exc:
        return article, f"{exc} ({EVENT_DATE_HINT})"
    day, slot = anniversary_slot(first, schedule, now)
    if slot is None:
        return article, (
            f"anniversary {day.isoformat()}: schedule {schedule.name!r} has no slot that day "
            f"({day.strftime('%A')}); give the rule (or channel) a schedule with a slot every day"
        )
    extra = {
        **article.extra,
        "event_date": first,
        "event_end": last,
        "anniversary": day,
        "years_ago": day.year - first.year,
    }
    return dataclasses.replace(article, publish_at=slot, extra=extra), None
