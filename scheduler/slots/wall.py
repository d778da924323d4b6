"""Local wall times to instants, correct across DST, with nothing but :mod:`zoneinfo`.

Every instant here is an aware ``datetime`` in UTC. Arithmetic and comparison of two datetimes that share
one ``ZoneInfo`` work on the wall clock, not on elapsed time (``01:30 EDT`` sorts after ``01:15 EST``), so
the slot code converts to UTC first and back to the zone only for the caller.
"""

from __future__ import annotations

import difflib
import math
import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.errors import ScheduleError
from scheduler.slots.spec import SlotSpec

WeekTable = tuple[tuple[time, ...], ...]
"""Seven sorted tuples of distinct wall times, Monday first."""

ONE_DAY = timedelta(days=1)


def load_zone(name: str, *, schedule: str) -> ZoneInfo:
    """The ``ZoneInfo`` of an IANA name, or a :class:`ScheduleError` naming the schedule, with suggestions."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
    known = zoneinfo.available_timezones()
    by_case = {key.casefold(): key for key in known}
    text = str(name)
    close = [by_case[text.casefold()]] if text.casefold() in by_case else []
    close = close or difflib.get_close_matches(text, sorted(known), n=3)
    suggestion = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
    raise ScheduleError(
        f"schedule {schedule!r}: unknown time zone {name!r}",
        hint=f"{suggestion}use an IANA name such as 'Europe/Berlin', 'America/New_York' or 'UTC'",
    )


def as_utc(value: datetime, what: str) -> datetime:
    """``value`` as an aware UTC datetime; a naive datetime is a bug in the caller (``ValueError``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def week_table(slots: Iterable[SlotSpec]) -> WeekTable:
    """Group slots by weekday; a time given twice for one day is one slot."""
    days: list[set[time]] = [set() for _ in range(7)]
    for slot in slots:
        for weekday in slot.weekdays:
            days[weekday].add(slot.time.replace(tzinfo=None, fold=0))
    return tuple(tuple(sorted(times)) for times in days)


def wall_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant of the wall time ``at`` on ``day`` in ``zone``.

    A repeated wall time (autumn) is its first occurrence. A wall time that does not exist (spring gap) is
    moved to the end of the gap, the first valid wall time after it: 02:30 on 2026-03-29 in Europe/Berlin is
    03:00 CEST.
    A wall time exists when it survives a round trip through UTC.
    """
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    return _gap_end(local, zone)


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant that ends the gap ``local`` falls in, to the second (tz data is in seconds)."""
    wall = local.replace(tzinfo=None)
    first, second = local.astimezone(UTC), local.replace(fold=1).astimezone(UTC)
    low = math.floor(min(first, second).timestamp())  # the wall clock still shows a time before the gap
    high = math.ceil(max(first, second).timestamp())  # the wall clock already shows a time after it
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def iter_instants(table: WeekTable, zone: ZoneInfo, first_day: date) -> Iterator[datetime]:
    """Every slot instant (UTC, increasing, no repeats) of the local dates from ``first_day`` on, forever.

    Two wall times that land on one instant (a gap moved onto the slot after it) are one slot.
    The table must hold at least one time, or this never yields.
    """
    last: datetime | None = None
    day = first_day
    while True:
        for at in table[day.weekday()]:
            instant = wall_to_utc(day, at, zone)
            if last is None or instant > last:
                last = instant
                yield instant
        day += ONE_DAY
