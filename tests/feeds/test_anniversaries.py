"""Anniversaries: ``event_date`` + a rule with ``anniversary = true`` -> the first slot of the anniversary in
the channel's zone, ``years_ago`` and the dates in templates, ``preview --on DATE``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.slots import Schedule
from scheduler.slots.anniversary import EventDateError, anniversary_slot, event_dates, on_year
from tests.conftest import WriteWorkspace
from tests.recycling_workspace import sources_docs_blocks

CONFIG = """\
[schedules.berlin]
timezone = "Europe/Berlin"
slots = ["daily 09:00", "daily 18:00"]

[schedules.weekdays]
timezone = "Europe/Berlin"
slots = ["mon-fri 09:00"]

[channels.file]
network = "file"
schedule = "berlin"
template = "onthisday.j2"

[channels.office]
network = "file"
schedule = "weekdays"
template = "onthisday.j2"

[[rules]]
tags = ["History"]
channels = ["file", "office"]
anniversary = true
"""

TEMPLATE = (
    "{% if years_ago is defined %}{{ years_ago }} years ago today ({{ event_date }}): {% endif %}{{ title }}"
)

POSTS = {
    "kg.md": "---\ntitle: Khalkhin Gol\ntags: [History]\nevent_date: 1939-08-20\n---\nThe offensive began.\n",
    "range.md": (
        "---\ntitle: The battle\ntags: [History]\nevent_date: 1939-05-11..1939-09-16\n---\nFour months.\n"
    ),
    "plain.md": "---\ntitle: No date\ntags: [History]\n---\nAny day.\n",
    "bad.md": "---\ntitle: Bad date\ntags: [History]\nevent_date: August 1939\n---\nx\n",
}


def preview(root: object, *args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["preview", "--json", "--config", str(root), *args])
    return result.exit_code, json.loads(result.stdout), result.stderr


@pytest.fixture
def root(make_workspace: WriteWorkspace) -> object:
    return make_workspace(CONFIG, POSTS, templates={"onthisday.j2": TEMPLATE})


def by_source(posts: list[dict[str, object]], channel: str) -> dict[object, dict[str, object]]:
    return {post["source"]: post for post in posts if post["channel"] == channel}


def test_an_anniversary_takes_the_first_slot_of_that_day_in_the_channel_zone(root: object) -> None:
    code, posts, _ = preview(root, "--now", "2026-06-01T08:00:00+00:00")
    assert code == 0
    file = by_source(posts, "file")
    kg = file["posts/kg.md"]
    assert kg["scheduled_at"] == "2026-08-20T09:00:00+02:00"
    assert kg["parts"] == ["87 years ago today (1939-08-20): Khalkhin Gol"]
    assert kg["slot_note"] == "anniversary (87 years): first slot that day"
    assert file["posts/range.md"]["scheduled_at"] == "2027-05-11T09:00:00+02:00"
    assert file["posts/plain.md"]["parts"] == ["No date"]  # no event_date: the next free slot
    assert file["posts/plain.md"]["scheduled_at"] == "2026-06-01T18:00:00+02:00"
    bad = file["posts/bad.md"]["problems"]
    assert bad == [
        "event_date: 'August 1939' is not a date or a range of dates "
        "(write event_date: 1939-08-20, or a range: event_date: 1939-05-11..1939-09-16)"
    ]
    # 2026-08-20 is a Thursday: the weekday schedule has its slot
    assert by_source(posts, "office")["posts/kg.md"]["scheduled_at"] == "2026-08-20T09:00:00+02:00"


def test_on_the_day_itself_a_past_first_slot_gives_the_next_slot_that_day(root: object) -> None:
    _, posts, _ = preview(root, "--now", "2026-08-20T10:00:00+02:00", "--channel", "file")
    assert by_source(posts, "file")["posts/kg.md"]["scheduled_at"] == "2026-08-20T18:00:00+02:00"
    _, posts, _ = preview(root, "--now", "2026-08-20T19:00:00+02:00", "--channel", "file")
    kg = by_source(posts, "file")["posts/kg.md"]
    assert kg["scheduled_at"] == "2027-08-20T09:00:00+02:00"
    assert kg["parts"] == ["88 years ago today (1939-08-20): Khalkhin Gol"]


def test_an_anniversary_without_a_slot_that_day_is_a_problem(root: object) -> None:
    _, posts, _ = preview(root, "--now", "2027-06-01T08:00:00+00:00", "--channel", "office")
    # 2027-08-20 is a Friday; 2027-05-11 a Tuesday; in 2028 the 20th of August is a Sunday
    _, later, _ = preview(root, "--now", "2028-06-01T08:00:00+00:00", "--channel", "office")
    assert by_source(posts, "office")["posts/kg.md"]["problems"] == []
    assert by_source(later, "office")["posts/kg.md"]["problems"] == [
        "anniversary 2028-08-20: schedule 'weekdays' has no slot that day (Sunday); "
        "give the rule (or channel) a schedule with a slot every day"
    ]


def test_preview_on_a_day_shows_what_that_day_posts(root: object) -> None:
    code, posts, _ = preview(root, "--on", "2026-08-20", "--channel", "file")
    assert code == 0
    assert [(post["source"], post["scheduled_at"]) for post in posts if post["channel"]] == [
        ("posts/kg.md", "2026-08-20T09:00:00+02:00"),
        ("posts/plain.md", "2026-08-20T18:00:00+02:00"),
    ]


def test_event_dates_and_leap_days() -> None:
    assert event_dates("1939-05-11..1939-09-16") == (date(1939, 5, 11), date(1939, 9, 16))
    assert event_dates(date(1939, 8, 20)) == (date(1939, 8, 20), date(1939, 8, 20))
    with pytest.raises(EventDateError, match="ends before it starts"):
        event_dates("1939-09-16..1939-05-11")
    assert on_year(date(1940, 2, 29), 2027) == date(2027, 2, 28)
    assert on_year(date(1940, 2, 29), 2028) == date(2028, 2, 29)
    daily = Schedule.create("d", timezone="America/New_York", slots=["daily 09:00"])
    day, slot = anniversary_slot(date(1940, 2, 29), daily, datetime(2026, 12, 6, tzinfo=UTC))
    assert (day, slot.isoformat() if slot else None) == (date(2027, 2, 28), "2027-02-28T09:00:00-05:00")


def test_the_docs_anniversary_rule_and_template_run(make_workspace: WriteWorkspace) -> None:
    toml = sources_docs_blocks("Anniversaries")[0]
    jinja = sources_docs_blocks("Anniversaries", "jinja")[0]
    config = '[channels.file]\nnetwork = "file"\ntemplate = "day.j2"\n\n' + toml
    made = make_workspace(config, {"kg.md": POSTS["kg.md"]}, templates={"day.j2": jinja})
    code, posts, _ = preview(made, "--on", "2026-08-20")
    assert code == 0
    assert [post["parts"] for post in posts] == [["87 years ago today: Khalkhin Gol"]]
