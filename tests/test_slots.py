"""Slot planning: parsing, schedules, DST, limits, jitter, and a brute-force reference for the planner."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.errors import ScheduleError
from scheduler.slots import SEARCH_HORIZON, Schedule, SlotPlanner, SlotSpec, jitter_for, parse_slot

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def utc(text: str) -> datetime:
    """``utc("2026-03-29 01:00")``: that instant in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(zone: ZoneInfo, text: str) -> datetime:
    """``local(BERLIN, "2026-03-29 03:00")``: that wall time (fold=0) in ``zone``."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def schedule(
    *slots: str,
    timezone: str = "Europe/Berlin",
    min_gap: timedelta = timedelta(0),
    daily_cap: int | None = None,
    jitter: timedelta = timedelta(0),
    quiet_dates: Iterable[date] = (),
) -> Schedule:
    return Schedule.create(
        "test",
        timezone=timezone,
        slots=slots,
        min_gap=min_gap,
        daily_cap=daily_cap,
        jitter=jitter,
        quiet_dates=quiet_dates,
    )


def plan(planner: SlotPlanner, after: datetime, count: int, prefix: str = "post") -> list[datetime]:
    return [planner.next_slot(after, key=f"{prefix}-{i}") for i in range(count)]


def keys_with_offset(jitter: timedelta, low: timedelta, high: timedelta) -> Iterator[str]:
    """Keys whose jitter offset lies in [low, high) (sha256 is fixed, so these are the same on every run)."""
    for i in itertools.count():
        if low <= jitter_for(f"key-{i}", jitter) < high:
            yield f"key-{i}"


# --- parse_slot ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "weekdays", "at"),
    [
        ("mon-fri 09:00", {0, 1, 2, 3, 4}, time(9, 0)),
        ("sat,sun 10:30", {5, 6}, time(10, 30)),
        ("daily 18:00", set(range(7)), time(18, 0)),
        ("mon 7:05", {0}, time(7, 5)),
        ("09:00", set(range(7)), time(9, 0)),
        ("weekdays 9:00", {0, 1, 2, 3, 4}, time(9, 0)),
        ("weekends 11:00", {5, 6}, time(11, 0)),
        ("fri-mon 20:00", {4, 5, 6, 0}, time(20, 0)),
        ("sun-sun 0:00", {6}, time(0, 0)),
        ("  MON-Wed,Sat  23:59 ", {0, 1, 2, 5}, time(23, 59)),
        ("Sat, Sun 10:30", {5, 6}, time(10, 30)),
        ("monday,thursday 12:00", {0, 3}, time(12, 0)),
    ],
)
def test_parse_slot_accepted_forms(spec: str, weekdays: set[int], at: time) -> None:
    assert parse_slot(spec) == SlotSpec(weekdays=frozenset(weekdays), time=at)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("mon", "a time (H:MM, 24-hour clock) is missing"),
        ("9am", "a time (H:MM, 24-hour clock) is missing"),
        ("mon 24:00", "'24:00' is not a time of day"),
        ("mon 9:60", "'9:60' is not a time of day"),
        ("mon 9", "'9' is not a time"),
        ("mon 09:00:00", "'09:00:00' is not a time"),
        ("funday 9:00", "'funday' is not a day"),
        ("mon-xyz 9:00", "'xyz' is not a day"),
        ("weekdays-sun 9:00", "'weekdays' is not a day"),
        ("mon,,tue 9:00", "a day name is missing"),
        ("mon fri 9:00", "'monfri' is not a day"),
    ],
)
def test_parse_slot_errors_name_the_spec_and_show_the_forms(spec: str, why: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_slot(spec)
    assert caught.value.message.startswith(f"invalid slot {spec!r}: {why}")
    assert caught.value.hint is not None
    for form in ('"mon-fri 09:00"', '"sat,sun 10:30"', '"daily 18:00"', '"09:00"', '"weekends 11:00"'):
        assert form in caught.value.hint


def test_slot_spec_str_is_canonical_and_parses_back() -> None:
    for spec, shown in [
        ("fri-mon 20:00", "mon,fri-sun 20:00"),
        ("weekdays 9:00", "mon-fri 09:00"),
        ("09:00", "daily 09:00"),
        ("sat,tue 7:05", "tue,sat 07:05"),
    ]:
        assert str(parse_slot(spec)) == shown
        assert parse_slot(shown) == parse_slot(spec)


# --- Schedule -----------------------------------------------------------------------------------------------


def test_create_parses_slots_and_keeps_limits() -> None:
    made = Schedule.create(
        "weekdays",
        timezone="Europe/Berlin",
        slots=["mon-fri 09:00", "sat 10:30"],
        min_gap=2 * HOUR,
        daily_cap=3,
        jitter=10 * MINUTE,
        quiet_dates=[date(2026, 12, 25)],
    )
    assert made == Schedule(
        name="weekdays",
        timezone="Europe/Berlin",
        slots=(SlotSpec(frozenset(range(5)), time(9)), SlotSpec(frozenset({5}), time(10, 30))),
        min_gap=2 * HOUR,
        daily_cap=3,
        jitter=10 * MINUTE,
        quiet_dates=frozenset({date(2026, 12, 25)}),
    )
    assert made.zone is BERLIN


def test_create_names_the_schedule_on_a_bad_slot() -> None:
    with pytest.raises(ScheduleError, match=r"^schedule 'news': invalid slot 'mon 25:00'"):
        Schedule.create("news", timezone="UTC", slots=["mon 09:00", "mon 25:00"])


def test_create_names_every_bad_slot() -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.create("news", timezone="UTC", slots=["mon 25:00", "mon 09:00", "someday 9:00"])
    assert caught.value.message == (
        "schedule 'news': invalid slot 'mon 25:00': '25:00' is not a time of day (00:00 to 23:59); "
        "invalid slot 'someday 9:00': 'someday' is not a day; use mon, tue, wed, thu, fri, sat, sun "
        "(or full names)"
    )
    assert caught.value.hint is not None and caught.value.hint.startswith("accepted forms: ")


@pytest.mark.parametrize(
    ("zone", "suggestion"),
    [
        ("Mars/Olympus", None),
        ("europe/berlin", "'Europe/Berlin'"),
        ("Europe/Berln", "'Europe/Berlin'"),
        ("", None),
    ],
)
def test_invalid_time_zone(zone: str, suggestion: str | None) -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.create("news", timezone=zone, slots=["09:00"])
    assert caught.value.message == f"schedule 'news': unknown time zone {zone!r}"
    assert caught.value.hint is not None
    assert "IANA" in caught.value.hint
    if suggestion:
        assert caught.value.hint.startswith(f"did you mean {suggestion}")
    direct = Schedule(name="news", timezone=zone, slots=(parse_slot("09:00"),))
    for check in (direct.validate, lambda: direct.zone, lambda: SlotPlanner(direct)):
        with pytest.raises(ScheduleError, match="unknown time zone"):
            check()


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"min_gap": -MINUTE}, "min_gap must not be negative"),
        ({"jitter": -MINUTE}, "jitter must not be negative"),
        ({"daily_cap": 0}, "daily_cap must be at least 1"),
        ({"daily_cap": True}, "daily_cap must be at least 1"),
    ],
)
def test_invalid_limits(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(ScheduleError, match=f"^schedule 'test': {message}"):
        schedule("09:00", **limits)


def test_slot_times_in_order_across_days_and_weekends() -> None:
    made = schedule("mon-fri 09:00", "mon-fri 13:30", "sat 10:30", "daily 09:00")
    # Friday 2026-04-10 10:00 up to Tuesday 09:00 (exclusive); "daily 09:00" and "mon-fri 09:00" are one slot.
    got = list(made.slot_times(local(BERLIN, "2026-04-10 10:00"), local(BERLIN, "2026-04-14 09:00")))
    assert got == [
        local(BERLIN, "2026-04-10 13:30"),
        local(BERLIN, "2026-04-11 09:00"),
        local(BERLIN, "2026-04-11 10:30"),
        local(BERLIN, "2026-04-12 09:00"),
        local(BERLIN, "2026-04-13 09:00"),
        local(BERLIN, "2026-04-13 13:30"),
    ]
    assert all(slot.tzinfo is BERLIN for slot in got)


def test_slot_times_bounds_are_instants_in_any_zone() -> None:
    made = schedule("09:00")
    start = utc("2026-04-10 07:00")  # exactly 09:00 CEST: included
    got = list(made.slot_times(start, start + 2 * timedelta(days=1)))  # the end is excluded
    assert got == [local(BERLIN, "2026-04-10 09:00"), local(BERLIN, "2026-04-11 09:00")]
    assert list(made.slot_times(start, start)) == []
    assert list(schedule().slot_times(start, start + timedelta(days=30))) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        list(made.slot_times(datetime(2026, 4, 10), start))


# --- DST: exact instants ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "clock", "day", "expected_utc"),
    [
        # spring forward: the slot moves to the end of the gap (03:00 local)
        ("Europe/Berlin", "02:30", date(2026, 3, 29), utc("2026-03-29 01:00")),
        ("America/New_York", "02:30", date(2026, 3, 8), utc("2026-03-08 07:00")),
        # fall back: the first occurrence of the repeated wall time
        ("Europe/Berlin", "02:30", date(2026, 10, 25), utc("2026-10-25 00:30")),
        ("America/New_York", "01:30", date(2026, 11, 1), utc("2026-11-01 05:30")),
    ],
)
def test_dst_slot_times(zone: str, clock: str, day: date, expected_utc: datetime) -> None:
    made = schedule(clock, timezone=zone)
    tz = ZoneInfo(zone)
    start = datetime.combine(day - timedelta(days=1), time(0), tzinfo=tz)
    got = list(made.slot_times(start, start + timedelta(days=3)))
    assert len(got) == 3  # one per day: a repeated hour is used once
    assert got[1].astimezone(UTC) == expected_utc
    assert got[1].tzinfo is tz
    assert got[1].astimezone(UTC).astimezone(tz).replace(tzinfo=None) == got[1].replace(tzinfo=None)
    wall = time.fromisoformat(clock)
    assert [slot.time() for slot in got] == [wall, wall if expected_utc.month > 6 else time(3, 0), wall]


def test_dst_planner_spring_forward_exact_utc() -> None:
    berlin = SlotPlanner(schedule("02:30"))
    assert [at.astimezone(UTC) for at in plan(berlin, local(BERLIN, "2026-03-28 12:00"), 2)] == [
        utc("2026-03-29 01:00"),  # 03:00 CEST, not the non-existent 02:30
        utc("2026-03-30 00:30"),  # 02:30 CEST
    ]
    new_york = SlotPlanner(schedule("02:30", timezone="America/New_York"))
    got = plan(new_york, local(NEW_YORK, "2026-03-07 12:00"), 2)
    assert [at.astimezone(UTC) for at in got] == [utc("2026-03-08 07:00"), utc("2026-03-09 06:30")]
    assert got[0].isoformat() == "2026-03-08T03:00:00-04:00"


def test_dst_planner_fall_back_takes_the_first_occurrence_once() -> None:
    berlin = SlotPlanner(schedule("02:30"))
    got = plan(berlin, local(BERLIN, "2026-10-24 12:00"), 2)
    assert [at.astimezone(UTC) for at in got] == [utc("2026-10-25 00:30"), utc("2026-10-26 01:30")]
    assert got[0].isoformat() == "2026-10-25T02:30:00+02:00"
    new_york = SlotPlanner(schedule("01:30", timezone="America/New_York"))
    got = plan(new_york, local(NEW_YORK, "2026-10-31 12:00"), 2)
    assert [at.astimezone(UTC) for at in got] == [utc("2026-11-01 05:30"), utc("2026-11-02 06:30")]
    assert got[0].isoformat() == "2026-11-01T01:30:00-04:00"


def test_dst_gap_slot_and_the_slot_at_the_end_of_the_gap_are_one_slot() -> None:
    planner = SlotPlanner(schedule("02:30", "03:00"))
    got = plan(planner, local(BERLIN, "2026-03-29 00:00"), 3)
    assert [at.astimezone(UTC) for at in got] == [
        utc("2026-03-29 01:00"),  # 02:30 -> 03:00 CEST and 03:00 CEST: one post, not two at one instant
        utc("2026-03-30 00:30"),
        utc("2026-03-30 01:00"),
    ]


def test_min_gap_is_elapsed_time_not_wall_time_across_spring_forward() -> None:
    # 01:50 CET and 03:10 CEST are 1 h 20 min apart on the wall clock but 20 minutes apart in real time.
    planner = SlotPlanner(schedule("01:50", "03:10", min_gap=HOUR))
    got = plan(planner, local(BERLIN, "2026-03-29 00:00"), 3)
    assert [at.astimezone(UTC) for at in got] == [
        utc("2026-03-29 00:50"),
        utc("2026-03-29 23:50"),  # 03-30 01:50 CEST: 03:10 on 03-29 was too close
        utc("2026-03-30 01:10"),
    ]


def test_jitter_across_fall_back_lands_in_the_second_hour_with_the_right_offset() -> None:
    key = next(keys_with_offset(HOUR, 40 * MINUTE, HOUR))
    planner = SlotPlanner(schedule("01:30", timezone="America/New_York", jitter=HOUR))
    got = planner.next_slot(local(NEW_YORK, "2026-11-01 00:00"), key=key)
    assert got.astimezone(UTC) == utc("2026-11-01 05:30") + jitter_for(key, HOUR)
    assert got.utcoffset() == -5 * HOUR  # 01:10..01:29 EST, the repeated hour's second pass
    assert got.fold == 1


# --- next_slot: order, limits -------------------------------------------------------------------------------


def test_next_slot_order_across_days_and_weekends() -> None:
    planner = SlotPlanner(schedule("mon-fri 09:00", "mon-fri 13:30"))
    got = plan(planner, local(BERLIN, "2026-04-10 10:00"), 4)  # Friday 10:00
    assert got == [
        local(BERLIN, "2026-04-10 13:30"),
        local(BERLIN, "2026-04-13 09:00"),  # Monday: the weekend has no slot
        local(BERLIN, "2026-04-13 13:30"),
        local(BERLIN, "2026-04-14 09:00"),
    ]
    assert all(at.tzinfo is BERLIN for at in got)


def test_next_slot_includes_a_slot_exactly_at_after_and_accepts_any_zone() -> None:
    planner = SlotPlanner(schedule("09:00"))
    got = planner.next_slot(utc("2026-04-10 07:00"), key="a")
    assert got == local(BERLIN, "2026-04-10 09:00")
    assert got.tzinfo is BERLIN
    assert planner.next_slot(utc("2026-04-10 07:00"), key="b") == local(BERLIN, "2026-04-11 09:00")
    with pytest.raises(ValueError, match="timezone-aware"):
        planner.next_slot(datetime(2026, 4, 10, 9), key="c")


def test_next_slot_with_an_earlier_after_fills_earlier_free_slots() -> None:
    planner = SlotPlanner(schedule("09:00"))
    assert planner.next_slot(local(BERLIN, "2026-06-01 00:00"), key="a") == local(BERLIN, "2026-06-01 09:00")
    assert planner.next_slot(local(BERLIN, "2026-01-01 00:00"), key="b") == local(BERLIN, "2026-01-01 09:00")
    assert planner.next_slot(local(BERLIN, "2026-01-01 00:00"), key="c") == local(BERLIN, "2026-01-02 09:00")
    assert planner.next_slot(local(BERLIN, "2026-06-01 00:00"), key="d") == local(BERLIN, "2026-06-02 09:00")


def test_taken_slots_are_not_free() -> None:
    taken = [local(BERLIN, "2026-04-13 09:00"), utc("2026-04-13 11:30")]  # Monday 09:00 and 13:30 CEST
    planner = SlotPlanner(schedule("mon-fri 09:00", "mon-fri 13:30"), taken=taken)
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 1) == [local(BERLIN, "2026-04-14 09:00")]


def test_min_gap_against_taken_times_on_both_sides() -> None:
    slots = ("09:00", "10:00", "11:00")
    taken = [local(BERLIN, "2026-04-13 09:20")]
    # 09:00 is 20 min before the taken 09:20, 10:00 is 40 min after it
    assert plan(
        SlotPlanner(schedule(*slots, min_gap=30 * MINUTE), taken=taken), local(BERLIN, "2026-04-13 00:00"), 2
    ) == [
        local(BERLIN, "2026-04-13 10:00"),
        local(BERLIN, "2026-04-13 11:00"),
    ]
    planner = SlotPlanner(schedule(*slots, min_gap=45 * MINUTE), taken=taken)
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 2) == [
        local(BERLIN, "2026-04-13 11:00"),
        local(BERLIN, "2026-04-14 09:00"),
    ]
    # a slot exactly min_gap away is fine
    planner = SlotPlanner(schedule(*slots, min_gap=HOUR))
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 4) == [
        local(BERLIN, "2026-04-13 09:00"),
        local(BERLIN, "2026-04-13 10:00"),
        local(BERLIN, "2026-04-13 11:00"),
        local(BERLIN, "2026-04-14 09:00"),
    ]


def test_min_gap_against_a_later_reserved_time() -> None:
    planner = SlotPlanner(schedule("09:00", "12:00", min_gap=2 * HOUR))
    planner.reserve(local(BERLIN, "2026-04-13 10:30"))  # a fixed publish_at
    # 09:00 is 90 min before it, 12:00 is 90 min after it: both skipped on the 13th
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 2) == [
        local(BERLIN, "2026-04-14 09:00"),
        local(BERLIN, "2026-04-14 12:00"),
    ]


def test_reserve_records_without_checks() -> None:
    planner = SlotPlanner(schedule("09:00", daily_cap=1, quiet_dates=[date(2026, 4, 13)], min_gap=5 * HOUR))
    for at in (
        local(BERLIN, "2026-04-13 09:00"),
        local(BERLIN, "2026-04-13 09:01"),
        local(BERLIN, "2026-04-14 08:00"),
    ):
        planner.reserve(at)
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 1) == [local(BERLIN, "2026-04-15 09:00")]
    with pytest.raises(ValueError, match="timezone-aware"):
        planner.reserve(datetime(2026, 4, 13, 9))


def test_daily_cap_per_local_date_counts_taken_and_reserved() -> None:
    made = schedule("09:00", "13:00", "17:00", daily_cap=2)
    planner = SlotPlanner(made, taken=[utc("2026-04-14 22:30")])  # 00:30 CEST on Wednesday 04-15
    planner.reserve(local(BERLIN, "2026-04-14 12:00"))
    assert plan(planner, local(BERLIN, "2026-04-13 00:00"), 5) == [
        local(BERLIN, "2026-04-13 09:00"),
        local(BERLIN, "2026-04-13 13:00"),
        local(BERLIN, "2026-04-14 09:00"),  # with the reserved 12:00 the 14th is full
        local(BERLIN, "2026-04-15 09:00"),  # the taken 00:30 counts for the 15th
        local(BERLIN, "2026-04-16 09:00"),
    ]


def test_quiet_dates_are_local_dates() -> None:
    easter_monday = date(2026, 4, 6)
    planner = SlotPlanner(schedule("mon-fri 09:00", "mon-fri 23:30", quiet_dates=[easter_monday]))
    assert plan(planner, local(BERLIN, "2026-04-03 12:00"), 3) == [
        local(BERLIN, "2026-04-03 23:30"),  # Friday
        local(BERLIN, "2026-04-07 09:00"),  # Tuesday: Monday is quiet
        local(BERLIN, "2026-04-07 23:30"),
    ]
    # 23:30 in Berlin on 04-05 is 04-06 in Tokyo: the quiet date follows the schedule's zone
    tokyo = ZoneInfo("Asia/Tokyo")
    planner = SlotPlanner(schedule("sun 23:30", timezone="Asia/Tokyo", quiet_dates=[date(2026, 4, 5)]))
    assert planner.next_slot(local(BERLIN, "2026-04-01 00:00"), key="a") == local(tokyo, "2026-04-12 23:30")


def test_a_jittered_time_on_a_quiet_date_skips_the_slot() -> None:
    key = next(keys_with_offset(HOUR, 31 * MINUTE, HOUR))
    planner = SlotPlanner(schedule("23:30", jitter=HOUR, quiet_dates=[date(2026, 4, 14)]))
    got = planner.next_slot(
        local(BERLIN, "2026-04-13 00:00"), key=key
    )  # 04-13 23:30 + >30 min is on the 14th
    assert got == local(BERLIN, "2026-04-14 23:30") + jitter_for(key, HOUR)


# --- jitter -------------------------------------------------------------------------------------------------


def test_jitter_for_is_sha256_based_and_stable_across_processes() -> None:
    # pinned values: hash() would change with PYTHONHASHSEED, these never change
    assert jitter_for("posts/a.md|bsky", HOUR) == timedelta(seconds=3384)
    assert jitter_for("posts/b.md|bsky", HOUR) == timedelta(minutes=46, seconds=59)
    assert jitter_for("posts/a.md|bsky", timedelta(0)) == timedelta(0)
    assert jitter_for("posts/a.md|bsky", timedelta(seconds=1)) == timedelta(0)
    with pytest.raises(ValueError, match="must not be negative"):
        jitter_for("x", -MINUTE)


@pytest.mark.parametrize("jitter", [timedelta(seconds=1.5), 10 * MINUTE, timedelta(days=2, microseconds=1)])
def test_jitter_for_stays_in_bounds_in_whole_seconds(jitter: timedelta) -> None:
    offsets = {jitter_for(f"k{i}", jitter) for i in range(2000)}
    assert all(timedelta(0) <= offset < jitter for offset in offsets)
    assert all(offset.microseconds == 0 for offset in offsets)
    assert len(offsets) > 1


def test_jitter_same_key_same_time_across_planners_different_keys_differ() -> None:
    made = schedule("mon-fri 09:00", jitter=20 * MINUTE)
    after = local(BERLIN, "2026-04-13 00:00")
    first = SlotPlanner(made).next_slot(after, key="posts/a.md|bsky")
    second = SlotPlanner(made).next_slot(after, key="posts/a.md|bsky")
    assert first == second == local(BERLIN, "2026-04-13 09:00") + jitter_for("posts/a.md|bsky", 20 * MINUTE)
    others = {SlotPlanner(made).next_slot(after, key=f"posts/{i}.md|bsky") for i in range(20)}
    assert len(others) > 10
    assert all(local(BERLIN, "2026-04-13 09:00") <= at < local(BERLIN, "2026-04-13 09:20") for at in others)


def test_jitter_does_not_share_a_slot() -> None:
    planner = SlotPlanner(schedule("09:00", "10:00", jitter=20 * MINUTE))
    got = plan(planner, local(BERLIN, "2026-04-13 00:00"), 3)
    slots = [
        local(BERLIN, "2026-04-13 09:00"),
        local(BERLIN, "2026-04-13 10:00"),
        local(BERLIN, "2026-04-14 09:00"),
    ]
    assert [at - jitter_for(f"post-{i}", 20 * MINUTE) for i, at in enumerate(got)] == slots


def test_jitter_never_reorders_below_min_gap() -> None:
    late = next(keys_with_offset(30 * MINUTE, 25 * MINUTE, 30 * MINUTE))
    early = next(keys_with_offset(30 * MINUTE, timedelta(0), 5 * MINUTE))
    fits = next(keys_with_offset(30 * MINUTE, 15 * MINUTE, 30 * MINUTE))
    made = schedule("09:00", "10:00", "11:00", min_gap=50 * MINUTE, jitter=30 * MINUTE)
    planner = SlotPlanner(made)
    after = local(BERLIN, "2026-04-13 00:00")
    first = planner.next_slot(after, key=late)  # 09:25..09:29
    assert first == local(BERLIN, "2026-04-13 09:00") + jitter_for(late, 30 * MINUTE)
    # 10:00..10:04 would be under 50 min after it: skipped for 11:00..11:04
    second = planner.next_slot(after, key=early)
    assert second == local(BERLIN, "2026-04-13 11:00") + jitter_for(early, 30 * MINUTE)
    # 10:15..10:29 is 50+ min after the first but under 50 min before the second: skipped too
    third = planner.next_slot(after, key=fits)
    assert third == local(BERLIN, "2026-04-14 09:00") + jitter_for(fits, 30 * MINUTE)


def test_a_slot_too_close_for_one_offset_stays_open_for_another() -> None:
    early = next(keys_with_offset(HOUR, timedelta(0), 20 * MINUTE))
    late = next(keys_with_offset(HOUR, 20 * MINUTE, HOUR))
    planner = SlotPlanner(
        schedule("09:00", min_gap=30 * MINUTE, jitter=HOUR), taken=[local(BERLIN, "2026-04-13 08:50")]
    )
    after = local(BERLIN, "2026-04-13 00:00")
    assert planner.next_slot(after, key=early) == local(BERLIN, "2026-04-14 09:00") + jitter_for(early, HOUR)
    assert planner.next_slot(after, key=late) == local(BERLIN, "2026-04-13 09:00") + jitter_for(late, HOUR)


def test_a_slot_whose_jitter_crosses_midnight_out_of_a_quiet_date_stays_open() -> None:
    early = next(keys_with_offset(HOUR, timedelta(0), 30 * MINUTE))
    late = next(keys_with_offset(HOUR, 30 * MINUTE, HOUR))
    planner = SlotPlanner(schedule("23:30", jitter=HOUR, quiet_dates=[date(2026, 4, 13)]))
    after = local(BERLIN, "2026-04-13 00:00")
    assert planner.next_slot(after, key=early) == local(BERLIN, "2026-04-14 23:30") + jitter_for(early, HOUR)
    # 04-13 23:30 plus 30+ minutes is on the 14th, which is not quiet
    assert planner.next_slot(after, key=late) == local(BERLIN, "2026-04-13 23:30") + jitter_for(late, HOUR)


def test_a_new_planner_sees_jittered_posts_as_taking_their_slots() -> None:
    made = schedule("09:00", "10:00", jitter=40 * MINUTE)
    after = local(BERLIN, "2026-04-13 00:00")
    first = SlotPlanner(made)
    planned = plan(first, after, 2)
    # rebuilt from the queue (the jittered times only), it does not put a second post into 09:00 or 10:00
    again = SlotPlanner(made, taken=planned)
    expected = local(BERLIN, "2026-04-14 09:00") + jitter_for("post-2", 40 * MINUTE)
    assert again.next_slot(after, key="post-2") == expected
    assert first.next_slot(after, key="post-2") == expected


def test_many_jittered_posts_keep_min_gap() -> None:
    made = schedule(*(f"{hour}:00" for hour in range(6, 22)), min_gap=50 * MINUTE, jitter=30 * MINUTE)
    planner = SlotPlanner(made)
    got = sorted(plan(planner, local(BERLIN, "2026-03-20 00:00"), 400), key=lambda at: at.astimezone(UTC))
    gaps = [b.astimezone(UTC) - a.astimezone(UTC) for a, b in itertools.pairwise(got)]
    assert min(gaps) >= 50 * MINUTE


# --- giving up ----------------------------------------------------------------------------------------------


def test_no_slots_at_all() -> None:
    with pytest.raises(ScheduleError, match=r"^schedule 'test' has no slots") as caught:
        SlotPlanner(schedule()).next_slot(utc("2026-01-01 00:00"), key="a")
    assert caught.value.hint == 'add slots, e.g. slots = ["mon-fri 09:00"]'


def test_every_date_quiet_gives_up_after_about_two_years() -> None:
    start = date(2026, 1, 1)
    quiet = [start + timedelta(days=n) for n in range(800)]
    planner = SlotPlanner(schedule("sun 10:00", quiet_dates=quiet))
    with pytest.raises(ScheduleError) as caught:
        planner.next_slot(local(BERLIN, "2026-01-01 00:00"), key="a")
    assert caught.value.message == (
        "schedule 'test' has no free slot in the 731 days from 2026-01-01T00:00+01:00: "
        "of its 104 slots, 104 on a quiet date"
    )
    assert caught.value.hint == "remove some quiet_dates, or add slots on other days"
    assert timedelta(days=731) == SEARCH_HORIZON


def test_a_slot_just_inside_the_horizon_is_found() -> None:
    start = date(2026, 1, 1)
    planner = SlotPlanner(schedule("10:00", quiet_dates=[start + timedelta(days=n) for n in range(720)]))
    assert planner.next_slot(local(BERLIN, "2026-01-01 00:00"), key="a") == local(BERLIN, "2027-12-22 10:00")


def test_every_day_full_says_daily_cap() -> None:
    taken = [local(BERLIN, "2026-01-01 08:00") + timedelta(days=n) for n in range(740)]
    planner = SlotPlanner(schedule("09:00", "12:00", daily_cap=1), taken=taken)
    with pytest.raises(ScheduleError, match=r"of its 1462 slots, 1462 on a date whose daily_cap is reached"):
        planner.next_slot(local(BERLIN, "2026-01-01 00:00"), key="a")


# --- the planner against a brute-force reference ------------------------------------------------------------


def reference_next(made: Schedule, taken: list[datetime], after: datetime, key: str) -> datetime | None:
    """next_slot restated naively: scan every slot, compare with every taken time."""
    zone = made.zone
    offset = jitter_for(key, made.jitter)
    for slot in made.slot_times(after, after + SEARCH_HORIZON):
        if any(other == slot or slot <= other < slot + made.jitter for other in taken):
            continue
        at = slot + offset
        day = at.astimezone(zone).date()
        if day in made.quiet_dates:
            continue
        if (
            made.daily_cap is not None
            and sum(o.astimezone(zone).date() == day for o in taken) >= made.daily_cap
        ):
            continue
        if any(abs(at.astimezone(UTC) - other.astimezone(UTC)) < made.min_gap for other in taken):
            continue
        return at.astimezone(zone)
    return None


# around each 2026 change: US spring, EU spring, EU autumn, US autumn (hours from these, -2 to +6 days)
BASES = [datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 28, tzinfo=UTC)]
BASES += [datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 31, tzinfo=UTC)]
slot_texts = st.builds(
    lambda days, hour, minute: f"{','.join(sorted(days))} {hour}:{minute:02d}",
    st.sets(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, max_size=4),
    st.sampled_from([0, 1, 2, 3, 9, 23]),
    st.sampled_from([0, 15, 30, 45]),
)
schedules = st.builds(
    lambda zone, slots, gap, cap, jitter, quiet: Schedule.create(
        "prop",
        timezone=zone,
        slots=slots,
        min_gap=gap,
        daily_cap=cap,
        jitter=jitter,
        quiet_dates=[date(2026, 3, 1) + timedelta(days=n) for n in quiet],
    ),
    st.sampled_from(["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]),
    st.lists(slot_texts, max_size=4),
    st.sampled_from([timedelta(0), 20 * MINUTE, 2 * HOUR, timedelta(days=1)]),
    st.sampled_from([None, 1, 2]),
    st.sampled_from([timedelta(0), timedelta(seconds=1), 40 * MINUTE, 3 * HOUR]),
    st.lists(st.integers(0, 250), max_size=40),
)
moments = st.tuples(st.integers(-48, 144), st.sampled_from([0, 7, 30, 45]))
operations = st.lists(st.tuples(st.booleans(), moments, st.text("abcdef", max_size=3)), max_size=30)


@settings(max_examples=400, deadline=None, database=None, derandomize=True)
@given(made=schedules, base=st.sampled_from(BASES), taken_at=st.lists(moments, max_size=10), ops=operations)
def test_planner_matches_brute_force_reference(
    made: Schedule,
    base: datetime,
    taken_at: list[tuple[int, int]],
    ops: list[tuple[bool, tuple[int, int], str]],
) -> None:
    taken = [base + timedelta(hours=h, minutes=m) for h, m in taken_at]
    planner = SlotPlanner(made, taken=taken)
    for fixed, (hours, minutes), key in ops:
        after = base + timedelta(hours=hours, minutes=minutes)
        if fixed:
            planner.reserve(after)
            taken.append(after)
            continue
        expected = reference_next(made, taken, after, key)
        if expected is None:
            with pytest.raises(ScheduleError):
                planner.next_slot(after, key=key)
            continue
        got = planner.next_slot(after, key=key)
        assert got == expected
        assert got.astimezone(UTC) == expected.astimezone(UTC)
        assert got.tzinfo is made.zone
        taken.append(got)
    # a planner built from everything taken so far agrees with the one that planned it
    after = base + timedelta(days=2)
    if any(spec.weekdays for spec in made.slots):
        fresh = SlotPlanner(made, taken=taken).next_slot(after, key="again")
        assert fresh.astimezone(UTC) == planner.next_slot(after, key="again").astimezone(UTC)


def test_ten_thousand_posts_over_three_channels_keep_every_rule() -> None:
    channels = [
        schedule("mon-fri 09:00", "mon-fri 13:30", "sat,sun 11:00", jitter=15 * MINUTE, min_gap=2 * HOUR),
        schedule(*(f"{hour}:30" for hour in range(24)), timezone="America/New_York", daily_cap=20),
        schedule(
            "daily 08:00", "daily 20:00", "02:30", timezone="Europe/Berlin", quiet_dates=[date(2026, 12, 25)]
        ),
    ]
    counts = (1200, 6800, 2000)
    for made, count in zip(channels, counts, strict=True):
        planner = SlotPlanner(made, taken=[utc("2026-03-01 12:00")])
        got = [
            planner.next_slot(utc("2026-03-01 00:00") + timedelta(hours=i % 5), key=f"p{i}")
            for i in range(count)
        ]
        instants = sorted([utc("2026-03-01 12:00"), *(at.astimezone(UTC) for at in got)])
        assert len(set(instants)) == count + 1
        assert min(b - a for a, b in itertools.pairwise(instants)) >= max(made.min_gap, timedelta(seconds=1))
        per_day = Counter(at.astimezone(made.zone).date() for at in got)
        assert not made.quiet_dates & per_day.keys()
        if made.daily_cap:
            assert max(per_day.values()) == made.daily_cap
