"""A channel's posting schedule (slots in an IANA zone plus limits) and the deterministic jitter."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.errors import ScheduleError
from scheduler.slots.spec import SlotSpec, parse_slot
from scheduler.slots.wall import ONE_DAY, as_utc, iter_instants, load_zone, week_table

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    """When one channel posts: weekly slots in a time zone, and the limits that apply to them.

    Build it with :meth:`create`, which parses and validates; a directly constructed one is checked by
    :meth:`validate` (and by :class:`~scheduler.slots.SlotPlanner`)::

        Schedule.create("weekdays", timezone="Europe/Berlin", slots=["mon-fri 09:00", "mon-fri 13:30"],
                        min_gap=timedelta(hours=2), daily_cap=2, jitter=timedelta(minutes=10))
    """

    name: str
    timezone: str
    slots: tuple[SlotSpec, ...]
    min_gap: timedelta = timedelta(0)
    daily_cap: int | None = None
    jitter: timedelta = timedelta(0)
    quiet_dates: frozenset[date] = frozenset()

    @classmethod
    def create(
        cls,
        name: str,
        *,
        timezone: str,
        slots: Iterable[str],
        min_gap: timedelta = timedelta(0),
        daily_cap: int | None = None,
        jitter: timedelta = timedelta(0),
        quiet_dates: Iterable[date] = (),
    ) -> Schedule:
        """Parse the slot strings and validate; raises :class:`ScheduleError` naming the schedule and every
        slot that cannot be read."""
        parsed: list[SlotSpec] = []
        bad: list[ScheduleError] = []
        for spec in slots:
            try:
                parsed.append(parse_slot(spec))
            except ScheduleError as exc:
                bad.append(exc)
        if bad:
            message = "; ".join(exc.message for exc in bad)
            raise ScheduleError(f"schedule {name!r}: {message}", hint=bad[0].hint) from bad[0]
        schedule = cls(
            name=name,
            timezone=timezone,
            slots=tuple(parsed),
            min_gap=min_gap,
            daily_cap=daily_cap,
            jitter=jitter,
            quiet_dates=frozenset(quiet_dates),
        )
        schedule.validate()
        return schedule

    def validate(self) -> None:
        """Raise :class:`ScheduleError` on the first problem: unknown zone, negative gap/jitter, cap < 1."""
        load_zone(self.timezone, schedule=self.name)
        if self.min_gap < timedelta(0):
            raise self._error(f"min_gap must not be negative, got {self.min_gap}", "use 0 for no minimum gap")
        if self.jitter < timedelta(0):
            raise self._error(f"jitter must not be negative, got {self.jitter}", "use 0 for no jitter")
        if self.daily_cap is not None and (isinstance(self.daily_cap, bool) or self.daily_cap < 1):
            raise self._error(f"daily_cap must be at least 1, got {self.daily_cap!r}", "omit it for no cap")

    @property
    def zone(self) -> ZoneInfo:
        """The time zone; raises :class:`ScheduleError` when :attr:`timezone` is not a known IANA name."""
        return load_zone(self.timezone, schedule=self.name)

    def slot_times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every slot in ``[start, end)`` in order, aware in :attr:`zone`, before jitter.

        Limits (gap, cap, quiet dates) are not applied. A slot in a spring-forward gap is moved to the end of
        the gap; a slot in a repeated autumn hour is its first occurrence, once; two slots on one instant are
        one.
        """
        zone = self.zone
        table = week_table(self.slots)
        low, high = as_utc(start, "start"), as_utc(end, "end")
        if low >= high or not any(table):
            return
        for instant in iter_instants(table, zone, low.astimezone(zone).date() - ONE_DAY):
            if instant >= high:
                return
            if instant >= low:
                yield instant.astimezone(zone)

    def _error(self, problem: str, hint: str) -> ScheduleError:
        return ScheduleError(f"schedule {self.name!r}: {problem}", hint=hint)


def jitter_for(key: str, jitter: timedelta) -> timedelta:
    """A deterministic offset in ``[0, jitter)``, in whole seconds, from the SHA-256 of ``key``.

    The same key gives the same offset in every process and on every machine (unlike ``hash()``), so a post
    keeps its time when it is planned again. A jitter under one second gives 0.
    """
    choices = _choices(jitter)
    if choices <= 1:
        return timedelta(0)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return timedelta(seconds=int.from_bytes(digest, "big") % choices)


def max_jitter(jitter: timedelta) -> timedelta:
    """The largest offset :func:`jitter_for` can return for ``jitter``."""
    return timedelta(seconds=max(0, _choices(jitter) - 1))


def _choices(jitter: timedelta) -> int:
    """How many whole seconds lie in ``[0, jitter)``."""
    if jitter < timedelta(0):
        raise ValueError(f"jitter must not be negative, got {jitter}")
    whole, rest = divmod(jitter, _SECOND)
    return int(whole) + (1 if rest else 0)
