"""The calendar's query reads one index range, whatever the size of the outbox (bench/web_calendar.py times
it with a million rows)."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select

from scheduler.store import Store
from scheduler.store.calendar_ops import count_query, range_query
from scheduler.web.calendar import Week, snippet


def plan(store: Store, statement: Select[Any]) -> str:
    """SQLite's plan for ``statement``, its bound values given as the store binds them."""
    compiled = statement.compile(store.engine, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params()
    processors = compiled._bind_processors
    parameters = tuple(
        processors[name](values[name]) if name in processors else values[name]
        for name in compiled.positiontup or ()
    )
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", parameters).all()
    return " | ".join(str(row[-1]) for row in rows)


def test_a_weeks_page_and_count_search_the_scheduled_index_and_never_sort(store: Store) -> None:
    start, end = Week.parse("2027-W02").bounds(UTC)
    page = plan(store, range_query(start, end, limit=500))
    assert (
        "USING INDEX ix_deliveries_scheduled" in page
        or "USING COVERING INDEX ix_deliveries_scheduled" in page
    )
    assert "TEMP B-TREE" not in page
    assert "COVERING INDEX ix_deliveries_scheduled" in plan(store, count_query(start, end))


def test_one_channels_week_seeks_the_channel_index_once_per_state(store: Store) -> None:
    start, end = Week.parse("2027-W02").bounds(UTC)
    page = plan(store, range_query(start, end, limit=500, channel="bsky"))
    index = (
        "INDEX ix_deliveries_channel_state_scheduled"
        " (channel=? AND state=? AND scheduled_at>? AND scheduled_at<?)"
    )
    assert index in page, page
    assert index in plan(store, count_query(start, end, "bsky"))


def test_weeks_are_named_as_iso_8601_names_them_and_start_at_local_midnight() -> None:
    week = Week.parse("2027-W01")
    assert week.monday.isoformat() == "2027-01-04"
    assert (week.previous().name, week.next().name) == ("2026-W53", "2027-W02")
    start, end = Week.parse("2027-W12").bounds(ZoneInfo("Europe/Berlin"))  # clocks go forward on 28 March
    assert (start.isoformat(), end.isoformat()) == ("2027-03-22T00:00:00+01:00", "2027-03-29T00:00:00+02:00")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=167)
    assert snippet("one  two\nthree " * 20, 20) == "one two three one…"
    assert snippet("It ends here. And goes on", 14) == "It ends here…"
