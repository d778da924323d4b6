"""A week of deliveries laid out by day, in the zone the user reads the calendar in.

A week is named as ISO 8601 does (``2027-W02``: Monday to Sunday); its days start at local midnight, so a
week across a DST change is 167 or 169 hours long and each delivery still lands under its own day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from scheduler.errors import UserError
from scheduler.store.calendar_ops import CalendarEntry

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
SNIPPET_LENGTH = 90


@dataclass(frozen=True, slots=True)
class Week:
    monday: date

    @classmethod
    def containing(cls, day: date) -> Week:
        return cls(day - timedelta(days=day.weekday()))

    @classmethod
    def parse(cls, text: str) -> Week:
        """``2027-W02``; anything else is a UserError saying how a week is written."""
        match = _WEEK.match(text.strip())
        try:
            if match is None:
                raise ValueError(text)
            return cls(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        except ValueError:
            raise UserError(
                f"{text!r} is not a week", hint="write it as ISO 8601 does, e.g. ?week=2027-W02"
            ) from None

    @property
    def name(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]

    def previous(self) -> Week:
        return Week(self.monday - timedelta(days=7))

    def next(self) -> Week:
        return Week(self.monday + timedelta(days=7))

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """Local midnight of Monday to local midnight of the next Monday, as aware datetimes."""
        return (
            datetime.combine(self.monday, time(0), zone),
            datetime.combine(self.monday + timedelta(days=7), time(0), zone),
        )


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    time: str
    channel: str
    network: str
    state: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    today: bool
    entries: list[Entry] = field(default_factory=list)

    @property
    def iso(self) -> str:
        return self.day.isoformat()

    @property
    def label(self) -> str:
        return self.day.strftime("%a %d %b")


def snippet(text: str, length: int = SNIPPET_LENGTH) -> str:
    """The start of ``text`` on one line, cut at a word with an ellipsis when longer than ``length``."""
    flat = " ".join(text.split())
    if len(flat) <= length:
        return flat
    cut = flat[:length].rsplit(" ", 1)[0] or flat[:length]
    return cut.rstrip(".,;:") + "…"


def lay_out(week: Week, entries: list[CalendarEntry], zone: tzinfo, today: date) -> list[Day]:
    """The seven days of ``week``, each with its deliveries (in ``zone``) by time, then channel."""
    days = {day: Day(day, day == today) for day in week.days}
    for entry in entries:
        local = entry.scheduled_at.astimezone(zone)
        bucket = days.get(local.date())
        if bucket is None:
            continue
        bucket.entries.append(
            Entry(
                id=entry.id,
                time=local.strftime("%H:%M"),
                channel=entry.channel,
                network=entry.network,
                state=entry.state.value,
                snippet=snippet(entry.first_part),
            )
        )
    for day in days.values():
        day.entries.sort(key=lambda entry: (entry.time, entry.channel))
    return list(days.values())
