"""One posting slot as written in a schedule (``"mon-fri 09:00"``) and its parser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from scheduler.errors import ScheduleError

SLOT_FORMS = (
    '"09:00" (every day), "daily 18:00", "mon 7:05", "mon-fri 09:00", "fri-mon 20:00" (ranges wrap), '
    '"sat,sun 10:30", "weekdays 9:00", "weekends 11:00"'
)
"""The accepted slot forms, as shown in error messages."""

_DAY_ABBR = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS: dict[str, int] = {
    **{abbr: i for i, abbr in enumerate(_DAY_ABBR)},
    **{name: i for i, name in enumerate(_DAY_NAMES)},
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_GROUPS: dict[str, frozenset[int]] = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
}
_TIME = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class SlotSpec:
    """One parsed slot: the weekdays it applies to (0 = Monday .. 6 = Sunday) and its local wall time.

    >>> parse_slot("sat,sun 10:30")
    SlotSpec(weekdays=frozenset({5, 6}), time=datetime.time(10, 30))
    """

    weekdays: frozenset[int]
    time: time

    def __str__(self) -> str:
        """The canonical spelling, e.g. ``"mon-fri 09:00"``, which :func:`parse_slot` reads back."""
        clock = self.time.strftime("%H:%M")
        if self.weekdays == _GROUPS["daily"]:
            return f"daily {clock}"
        runs: list[list[int]] = []
        for day in sorted(self.weekdays):
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        names = [_DAY_ABBR[run[0]] + (f"-{_DAY_ABBR[run[-1]]}" if len(run) > 1 else "") for run in runs]
        days = ",".join(names)
        return f"{days} {clock}"


def parse_slot(spec: str) -> SlotSpec:
    """Parse ``"[days] H:MM"``; days are ``daily``, ``weekdays``, ``weekends`` or day names, ranges and lists.

    Case does not matter, a range may wrap around the week (``fri-mon``), and a bare time means every day.
    Raises :class:`ScheduleError` naming the spec and listing the accepted forms.
    """
    words = spec.strip().casefold().rsplit(None, 1)
    if not words:
        raise _bad(spec, "it is empty")
    if len(words) == 1:
        if not _TIME.fullmatch(words[0]):
            raise _bad(spec, "a time (H:MM, 24-hour clock) is missing")
        words = ["daily", words[0]]
    days_text, clock = words
    return SlotSpec(weekdays=_parse_days(spec, "".join(days_text.split())), time=_parse_time(spec, clock))


def _parse_time(spec: str, clock: str) -> time:
    match = _TIME.fullmatch(clock)
    if not match:
        raise _bad(spec, f"{clock!r} is not a time; write H:MM or HH:MM on a 24-hour clock")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise _bad(spec, f"{clock!r} is not a time of day (00:00 to 23:59)")
    return time(hour, minute)


def _parse_days(spec: str, text: str) -> frozenset[int]:
    days: set[int] = set()
    for item in text.split(","):
        if item in _GROUPS:
            days |= _GROUPS[item]
        elif "-" in item:
            first, _, last = item.partition("-")
            start, stop = _day(spec, first), _day(spec, last)
            days.update((start + i) % 7 for i in range((stop - start) % 7 + 1))
        else:
            days.add(_day(spec, item))
    return frozenset(days)


def _day(spec: str, name: str) -> int:
    if name not in _DAYS:
        if not name:
            raise _bad(spec, "a day name is missing (a stray ',' or '-'?)")
        raise _bad(spec, f"{name!r} is not a day; use mon, tue, wed, thu, fri, sat, sun (or full names)")
    return _DAYS[name]


def _bad(spec: str, why: str) -> ScheduleError:
    return ScheduleError(f"invalid slot {spec!r}: {why}", hint=f"accepted forms: {SLOT_FORMS}")
