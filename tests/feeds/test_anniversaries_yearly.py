"""Anniversaries come back every year: once a year's anniversary post went out, the next year's is queued
(by the same periodic work as recycling), at the first slot of that day, with that year's ``years_ago``; a
29 February on 28 February in other years. Driven over three years on a real outbox with a moved clock."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.pipeline import Pipeline
from scheduler.recycling import recycle, recycles, recycling_plan
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.recycling_workspace import send_due

CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[schedules.berlin]
timezone = "Europe/Berlin"
slots = ["daily 09:00"]

[channels.file]
network = "file"
schedule = "berlin"
template = "onthisday.j2"

[channels.same]
network = "file"
schedule = "berlin"
template = "title.j2"

[[rules]]
tags = ["History"]
channels = ["file", "same"]
anniversary = true
"""
POSTS = {
    "kg.md": "---\ntitle: Khalkhin Gol\ntags: [History]\nevent_date: 1939-08-20\n---\nThe offensive began.\n",
    "leap.md": "---\ntitle: Leap day\ntags: [History]\nevent_date: 2000-02-29\n---\nA rare day.\n",
}
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def moments() -> list[datetime]:
    """The clock's stops up to March 2029: the first of every third month, and each anniversary day before
    and after its 09:00 slot (Berlin)."""
    stops = [
        datetime(year, month, 1, 12, tzinfo=UTC) for year in range(2026, 2030) for month in (1, 4, 7, 10)
    ]
    for year in range(2026, 2030):
        for month, day in ((2, 28), (2, 29), (3, 1), (8, 20), (8, 21)):
            if month == 3 or day != 29 or year % 4 == 0:
                stops += [datetime(year, month, day, hour, tzinfo=UTC) for hour in (6, 9)]
    return sorted(stop for stop in stops if T0 < stop < datetime(2029, 3, 5, tzinfo=UTC))


def test_an_anniversary_is_queued_again_every_year_once_the_last_one_went_out(
    make_workspace: WriteWorkspace,
) -> None:
    templates = {"onthisday.j2": "{{ years_ago }} years ago today ({{ anniversary }}): {{ title }}"}
    templates["title.j2"] = "On this day: {{ title }}"  # the same text every year
    root = make_workspace(CONFIG, POSTS, templates=templates)
    workspace = load_workspace(root / "config" / "tagcast.toml")
    assert recycles(workspace.settings)
    pipeline = Pipeline(workspace)
    with Store.open(workspace.settings.store.url, root=root) as store:
        ingest(workspace, store, now=T0, pipeline=pipeline)
        assert recycling_plan(pipeline, store, now=T0) == []  # this year's are queued, not sent yet
        for now in moments():
            send_due(store, now)
            recycle(workspace, store, pipeline, now=now)
            ingest(workspace, store, now=now, pipeline=pipeline)  # the posts folder, rescanned: no copies
        rows = store.list(limit=100)
    sent = [
        (d.channel, d.local_scheduled_at.isoformat(), d.parts[0]) for d in rows if d.state.value == "sent"
    ]
    waiting = [(d.channel, d.local_scheduled_at.isoformat()) for d in rows if d.state.value == "planned"]
    assert sorted(sent) == sorted(
        [
            ("file", "2026-02-28T09:00:00+01:00", "26 years ago today (2026-02-28): Leap day"),
            ("file", "2026-08-20T09:00:00+02:00", "87 years ago today (2026-08-20): Khalkhin Gol"),
            ("file", "2027-02-28T09:00:00+01:00", "27 years ago today (2027-02-28): Leap day"),
            ("file", "2027-08-20T09:00:00+02:00", "88 years ago today (2027-08-20): Khalkhin Gol"),
            ("file", "2028-02-29T09:00:00+01:00", "28 years ago today (2028-02-29): Leap day"),
            ("file", "2028-08-20T09:00:00+02:00", "89 years ago today (2028-08-20): Khalkhin Gol"),
            ("file", "2029-02-28T09:00:00+01:00", "29 years ago today (2029-02-28): Leap day"),
        ]
        + [
            ("same", moment, f"On this day: {title}")
            for moment, title in [
                ("2026-02-28T09:00:00+01:00", "Leap day"),
                ("2026-08-20T09:00:00+02:00", "Khalkhin Gol"),
                ("2027-02-28T09:00:00+01:00", "Leap day"),
                ("2027-08-20T09:00:00+02:00", "Khalkhin Gol"),
                ("2028-02-29T09:00:00+01:00", "Leap day"),
                ("2028-08-20T09:00:00+02:00", "Khalkhin Gol"),
                ("2029-02-28T09:00:00+01:00", "Leap day"),
            ]
        ]
    )
    assert sorted(waiting) == [
        ("file", "2029-08-20T09:00:00+02:00"),
        ("file", "2030-02-28T09:00:00+01:00"),
        ("same", "2029-08-20T09:00:00+02:00"),
        ("same", "2030-02-28T09:00:00+01:00"),
    ]
