"""Plan posts into slots: each post takes the next free slot of its channel; ``publish_at`` wins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
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

    def place(self, post: Post, schedule: str | None, now: datetime) -> Post:
        """``post`` planned: at the article's ``publish_at`` (a past one means now), else at the next free
        slot of ``schedule`` (default: the post's own); ScheduleError when there is none."""
        schedule = schedule or post.schedule
        planner = self._planner(post.channel, schedule)
        fixed = post.article.publish_at
        if fixed is not None:
            at = max(fixed, now).astimezone(self.schedules[schedule].zone)
            note = "publish_at" if fixed >= now else "publish_at is past: now"
            if "anniversary" in post.article.extra and "years_ago" in post.article.extra:
                note = f"anniversary ({post.article.extra['years_ago']} years): first slot that day"
            self._record(post.channel, at)
            return replace(post, scheduled_at=at, slot_note=note)
        key = (post.channel, schedule)
        if key in self._exhausted:  # taken slots only grow: a later post cannot find one either
            raise self._exhausted[key]
        try:
            at = planner.next_slot(now, key=jitter_key(post))
        except ScheduleError as exc:
            self._exhausted[key] = exc
            raise
        self._record(post.channel, at, planned_by=planner)
        return replace(post, scheduled_at=at, slot_note=f"next free slot of schedule '{schedule}'")


def plan_posts(
    posts: Sequence[Post],
    schedules: Mapping[str, Schedule],
    *,
    now: datetime | None = None,
    taken: Mapping[str, Iterable[datetime]] | None = None,
) -> list[Post]:
    """Every post, in order, planned by its own schedule (:attr:`Post.schedule`): valid ones with a time,
    the others with a note saying why they have none. ``taken``: the times each channel already holds."""
    start = now or datetime.now(UTC)
    planner = Planner(schedules, taken=taken)
    return [_planned(planner, post, start) for post in posts]


def place(planner: Planner, post: Post, now: datetime) -> Post:
    """``post`` planned by ``planner`` (its own schedule), or with the problem that it cannot be."""
    try:
        return planner.place(post, None, now)
    except ScheduleError as exc:
        return post.with_problems(f"cannot schedule: {exc}")


def _planned(planner: Planner, post: Post, now: datetime) -> Post:
    if post.problems:
        return replace(post, slot_note="not scheduled: fix the problems first")
    post = place(planner, post, now)
    if not post.active:
        note = f"{post.slot_note}; channel disabled (enabled = false): previewed, never queued"
        post = replace(post, slot_note=note)
    return post
