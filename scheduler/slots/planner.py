"""Plan the posts of one channel into the free slots of its schedule (pure: no database, no clock)."""

from __future__ import annotations

import enum
import itertools
from bisect import bisect_left, bisect_right, insort
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from scheduler.errors import ScheduleError
from scheduler.slots.schedule import Schedule, jitter_for, max_jitter
from scheduler.slots.wall import ONE_DAY, as_utc, iter_instants, week_table

SEARCH_HORIZON = timedelta(days=731)
"""How far after ``after`` :meth:`SlotPlanner.next_slot` looks before it gives up (about two years)."""

_CHUNK = 64  # slot instants materialized at a time


class _Block(enum.Enum):
    TAKEN = "already taken"
    QUIET = "on a quiet date"
    FULL = "on a date whose daily_cap is reached"
    GAP = "closer than min_gap to another post"


_HINTS = {
    _Block.TAKEN: "add slots to the schedule, or cancel queued posts",
    _Block.QUIET: "remove some quiet_dates, or add slots on other days",
    _Block.FULL: "raise daily_cap, or add slots on other days",
    _Block.GAP: "lower min_gap, or add slots further apart",
}


class SlotPlanner:
    """Plans posts of ONE channel into its schedule.

    A slot is free when no post of the channel lies in its window ``[slot, slot + jitter)`` (just the slot
    itself without jitter). :meth:`next_slot` takes the first free slot at or after ``after`` whose jittered
    time respects ``min_gap`` to every taken time on both sides, the daily cap of its local date and the quiet
    dates::

        planner = SlotPlanner(schedule, taken=queued_times)
        at = planner.next_slot(now, key="posts/a.md|bsky")

    Taken times only accumulate, so a slot found unusable for every key is remembered as such and skipped in
    later searches (a skip list with path compression): planning n posts costs about O(n log n).
    """

    def __init__(self, schedule: Schedule, *, taken: Iterable[datetime] = ()) -> None:
        schedule.validate()
        self.schedule = schedule
        self._zone = schedule.zone
        self._table = week_table(schedule.slots)
        self._taken: list[datetime] = sorted(as_utc(at, "taken") for at in taken)
        self._per_day: Counter[date] = Counter(self._day(at) for at in self._taken)
        self._window = schedule.jitter
        self._max_offset = max_jitter(schedule.jitter)
        self._instants: list[datetime] = []
        self._first_day: date | None = None
        self._more: Iterator[datetime] = iter(())
        self._skip: dict[datetime, datetime] = {}

    def next_slot(self, after: datetime, *, key: str) -> datetime:
        """Reserve and return the next free slot at or after ``after``, jitter applied, in the schedule zone.

        ``key`` is a stable id of the post (e.g. ``"source|channel"``); it fixes the jitter offset. A slot
        whose jittered time would break ``min_gap`` (either side), the daily cap or a quiet date is skipped.
        Raises :class:`ScheduleError` when no slot is free within :data:`SEARCH_HORIZON`, saying why.
        """
        start = as_utc(after, "after")
        if not any(self._table):
            raise ScheduleError(
                f"schedule {self.schedule.name!r} has no slots, so no post can be planned",
                hint='add slots, e.g. slots = ["mon-fri 09:00"]',
            )
        horizon = start + SEARCH_HORIZON
        offset = jitter_for(key, self.schedule.jitter)
        slot = self._live(self._first_slot_from(start))
        while slot < horizon:
            found = self._blocked(slot, offset)
            if found is None:
                at = slot + offset
                self._record(at)
                self._skip[slot] = self._successor(slot)
                return at.astimezone(self._zone)
            if found[1]:
                self._skip[slot] = self._successor(slot)
            slot = self._live(self._successor(slot))
        raise self._exhausted(start, horizon, offset)

    def reserve(self, at: datetime) -> None:
        """Record a fixed time (an article's ``publish_at`` wins) as taken, without any check."""
        self._record(as_utc(at, "at"))

    def _record(self, at: datetime) -> None:
        insort(self._taken, at)
        self._per_day[self._day(at)] += 1

    def _day(self, instant: datetime) -> date:
        return instant.astimezone(self._zone).date()

    def _closed(self, day: date) -> bool:
        cap = self.schedule.daily_cap
        return day in self.schedule.quiet_dates or (cap is not None and self._per_day[day] >= cap)

    def _blocked(self, slot: datetime, offset: timedelta) -> tuple[_Block, bool] | None:
        """Why ``slot`` cannot take a post with jitter ``offset``, and whether that holds for every key."""
        taken, gap = self._taken, self.schedule.min_gap
        i = bisect_left(taken, slot)
        if i < len(taken) and (taken[i] == slot or taken[i] < slot + self._window):
            return _Block.TAKEN, True
        first, last = self._day(slot), self._day(slot + self._max_offset)
        if all(self._closed(first + ONE_DAY * n) for n in range((last - first).days + 1)):
            return (_Block.QUIET if first in self.schedule.quiet_dates else _Block.FULL), True
        at = slot + offset
        day = self._day(at)
        if day in self.schedule.quiet_dates:
            return _Block.QUIET, False
        if self._closed(day):
            return _Block.FULL, False
        if gap:
            j = bisect_right(taken, at - gap)
            if j < len(taken) and taken[j] < at + gap:
                k = bisect_right(taken, slot + self._max_offset - gap)  # one post too close to every offset?
                return _Block.GAP, k < len(taken) and taken[k] < slot + gap
        return None

    def _first_slot_from(self, start: datetime) -> datetime:
        """The first slot instant at or after ``start``, materializing slots as needed."""
        day = self._day(start) - ONE_DAY
        if self._first_day is None:
            self._first_day = day
            self._more = iter_instants(self._table, self._zone, day)
        elif day < self._first_day:
            earlier_from = min(day, self._first_day - ONE_DAY * _CHUNK)
            head = self._instants[0] if self._instants else None
            earlier = itertools.takewhile(
                lambda instant: head is None or instant < head,
                iter_instants(self._table, self._zone, earlier_from),
            )
            self._instants[:0] = list(earlier)
            self._first_day = earlier_from
        while not self._instants or self._instants[-1] < start:
            self._instants.extend(itertools.islice(self._more, _CHUNK))
        return self._instants[bisect_left(self._instants, start)]

    def _successor(self, slot: datetime) -> datetime:
        i = bisect_right(self._instants, slot)
        while i >= len(self._instants):
            self._instants.extend(itertools.islice(self._more, _CHUNK))
        return self._instants[i]

    def _live(self, slot: datetime) -> datetime:
        """Follow the skip list from ``slot`` to the first slot not known to be unusable."""
        path = []
        while slot in self._skip:
            path.append(slot)
            slot = self._skip[slot]
        for dead in path:
            self._skip[dead] = slot
        return slot

    def _exhausted(self, start: datetime, horizon: datetime, offset: timedelta) -> ScheduleError:
        counts: Counter[_Block] = Counter()
        low, high = bisect_left(self._instants, start), bisect_left(self._instants, horizon)
        for slot in self._instants[low:high]:
            found = self._blocked(slot, offset)
            if found is not None:
                counts[found[0]] += 1
        reasons = ", ".join(f"{n} {block.value}" for block, n in counts.most_common())
        shown = start.astimezone(self._zone).isoformat(timespec="minutes")
        return ScheduleError(
            f"schedule {self.schedule.name!r} has no free slot in the {SEARCH_HORIZON.days} days from "
            f"{shown}: of its {high - low} slots, {reasons}",
            hint=_HINTS[counts.most_common(1)[0][0]] if counts else None,
        )
