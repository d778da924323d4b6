"""Plan posts into slots: each post takes the next free slot of its channel; ``publish_at`` wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from scheduler.config.settings import Settings
from scheduler.errors import ConfigError, ScheduleError
from scheduler.models import Post
from scheduler.slots import Schedule, SlotPlanner


def build_schedules(settings: Settings) -> dict[str, Schedule]:
    """Every ``[schedules.*]`` table as a Schedule; all problems at once in one ConfigError."""
    schedules: dict[str, Schedule] = {}
    problems: list[str] = []
    for name, table in settings.schedules.items():
        try:
            schedules[name] = Schedule.create(
                name,
                timezone=table.timezone,
                slots=table.slots,
                min_gap=table.min_gap,
                daily_cap=table.daily_cap,
                jitter=table.jitter,
                quiet_dates=table.quiet_dates,
            )
        except ScheduleError as exc:
            problems.append(f"schedules.{name}: {exc}")
    if problems:
        raise ConfigError("invalid schedule(s)", problems=problems)
    return schedules


def jitter_key(post: Post) -> str:
    """The stable identity of a post for jitter: the same in preview and in the service."""
    return f"{post.source}|{post.channel}"


class Planner:
    """Slot planners per (channel, schedule), sharing each channel's taken times."""

    def __init__(
        self, schedules: Mapping[str, Schedule], *, taken: Mapping[str, Iterable[datetime]] | None = None
    ) -> None:
        self.schedules = schedules
        self.taken = {channel: list(times) for channel, times in (taken or {}).items()}
        self._planners: dict[tuple[str, str], SlotPlanner] = {}
        self._exhausted: dict[tuple[str, str], ScheduleError] = {}

    def _planner(self, channel: str, schedule: str) -> SlotPlanner:
        key = (channel, schedule)
        planner = self._planners.get(key)
        if planner is None:
            planner = SlotPlanner(self.schedules[schedule], taken=self.taken.get(channel, ()))
            self._planners[key] = planner
        return planner

    def _record(self, channel: str, at: datetime, *, planned_by: SlotPlanner | None = None) -> None:
        self.taken.setdefault(channel, []).append(at)
        for (name, _), planner in self._planners.items():
            if name == channel and planner is not planned_by:
                planner.reserve(at)

    def place(self, post: Post, schedule: str, now: datetime) -> None:
        """Set ``post.scheduled_at``: the article's ``publish_at`` (a past one means now), else the next
        slot."""
        planner = self._planner(post.channel, schedule)
        fixed = post.article.publish_at
        if fixed is not None:
            post.scheduled_at = max(fixed, now).astimezone(self.schedules[schedule].zone)
            post.slot_note = "publish_at" if fixed >= now else "publish_at is past: now"
            if "anniversary" in post.article.extra and "years_ago" in post.article.extra:
                post.slot_note = f"anniversary ({post.article.extra['years_ago']} years): first slot that day"
            self._record(post.channel, post.scheduled_at)
            return
        key = (post.channel, schedule)
        if key in self._exhausted:  # taken slots only grow: a later post cannot find one either
            raise self._exhausted[key]
        try:
            post.scheduled_at = planner.next_slot(now, key=jitter_key(post))
        except ScheduleError as exc:
            self._exhausted[key] = exc
            raise
        post.slot_note = f"next free slot of schedule '{schedule}'"
        self._record(post.channel, post.scheduled_at, planned_by=planner)


def plan_posts(
    posts: Sequence[tuple[Post, str]],
    schedules: Mapping[str, Schedule],
    *,
    now: datetime | None = None,
    taken: Mapping[str, Iterable[datetime]] | None = None,
) -> None:
    """Give every valid post (with its schedule name) a time; invalid posts are not planned."""
    start = now or datetime.now(UTC)
    planner = Planner(schedules, taken=taken)
    for post, schedule in posts:
        if post.problems:
            post.slot_note = "not scheduled: fix the problems first"
            continue
        try:
            planner.place(post, schedule, start)
        except ScheduleError as exc:
            post.problems.append(f"cannot schedule: {exc}")
        if not post.active:
            post.slot_note = f"{post.slot_note}; channel disabled (enabled = false): previewed, never queued"
