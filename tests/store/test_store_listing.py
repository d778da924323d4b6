"""Listing pages through an index; operator actions are transitions with reasons."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.dialects import sqlite as sqlite_dialect
from store_support import NOW, make_post, sqlite_path

from scheduler.store import DeliveryConflict, DeliveryNotFound, DeliveryState, Store
from scheduler.store.operator_ops import list_query

LEASE = timedelta(minutes=5)


def fill(store: Store, count: int) -> None:
    for n in range(count):
        channel = "a" if n % 2 else "b"
        store.upsert(
            make_post(f"posts/{n:03}.md", channel, at=NOW + timedelta(minutes=n % 7, seconds=n)), now=NOW
        )


def test_pages_are_ordered_by_slot_then_id_and_do_not_overlap(store: Store) -> None:
    fill(store, 120)
    pages = [store.list(limit=50, offset=offset) for offset in (0, 50, 100)]
    assert [len(page) for page in pages] == [50, 50, 20]
    rows = [d for page in pages for d in page]
    assert len({d.id for d in rows}) == 120
    assert [(d.scheduled_at, d.id) for d in rows] == sorted((d.scheduled_at, d.id) for d in rows)
    only_a = store.list(channel="a", limit=1000)
    assert len(only_a) == 60 and {d.channel for d in only_a} == {"a"}
    store.cancel(only_a[0].id, now=NOW)
    assert [d.id for d in store.list(states=[DeliveryState.CANCELLED])] == [only_a[0].id]
    assert len(store.list(states=["planned", "cancelled"], limit=1000)) == 120
    assert store.list(states=[DeliveryState.SENT]) == []


def query_plan(db_url: str, **filters: object) -> str:
    compiled = list_query(limit=50, **filters).compile(  # type: ignore[arg-type]
        dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}
    )
    with sqlite3.connect(sqlite_path(db_url)) as raw:
        rows = raw.execute(f"EXPLAIN QUERY PLAN {compiled}").fetchall()
    return "\n".join(str(row[-1]) for row in rows)


PAGE_INDEXES = [
    ({}, "ix_deliveries_scheduled"),
    ({"states": ["planned"]}, "ix_deliveries_state_scheduled"),
    ({"states": ["planned"], "channel": "a"}, "ix_deliveries_channel_state_scheduled"),
]


@pytest.mark.parametrize(("filters", "index"), PAGE_INDEXES)
def test_the_first_page_is_read_through_an_index_without_sorting(
    sqlite_url: str, tmp_path: Path, filters: dict[str, object], index: str
) -> None:
    with Store.open(sqlite_url, root=tmp_path) as store:
        fill(store, 300)
    with sqlite3.connect(sqlite_path(sqlite_url)) as raw:
        raw.execute("ANALYZE")
    plan = query_plan(sqlite_url, **filters)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert not plan.startswith("SCAN deliveries\n") and plan != "SCAN deliveries", plan


@pytest.mark.postgres
@pytest.mark.parametrize(("filters", "index"), PAGE_INDEXES)
def test_on_postgresql_an_index_gives_the_order_of_the_first_page(
    pg_url: str, tmp_path: Path, filters: dict[str, object], index: str
) -> None:
    with Store.open(pg_url, root=tmp_path) as store:
        fill(store, 300)
        compiled = list_query(limit=50, **filters).compile(  # type: ignore[arg-type]
            dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}
        )
        with store.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE deliveries")
            # a 300-row table is cheaper to scan; forbid that to see which index serves the query
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {compiled}").scalars())
    if "channel" in filters:  # with two channels, the state index plus a filter is as good: any index
        assert "Index Scan using ix_deliveries_" in plan, plan
    else:
        assert f"Index Scan using {index} " in plan, plan
    assert "Sort" not in plan, plan


def test_operator_actions_move_states_and_keep_their_reasons(store: Store) -> None:
    store.upsert(make_post("posts/a.md", "a", at=NOW - timedelta(minutes=1)), now=NOW)
    store.upsert(make_post("posts/b.md", "b", at=NOW - timedelta(minutes=1)), now=NOW)
    a = store.find("posts/a.md", "a")
    b = store.find("posts/b.md", "b")
    assert a is not None and b is not None
    at = NOW + timedelta(days=2)
    moved = store.reschedule(a.id, at, now=NOW)
    assert (moved.state, moved.scheduled_at) == (DeliveryState.PLANNED, at)
    assert moved.idempotency_key == a.idempotency_key
    store.claim_due(NOW, worker="w", lease=LEASE, limit=5)
    store.mark_failed(b.id, reason="401: bad token", now=NOW)
    retried = store.retry(b.id, now=NOW + timedelta(minutes=1))
    assert (retried.state, retried.scheduled_at, retried.attempts) == (
        DeliveryState.PLANNED,
        NOW + timedelta(minutes=1),
        0,
    )
    store.claim_due(NOW + timedelta(minutes=1), worker="w", lease=LEASE, limit=5)
    store.mark_unknown(b.id, reason="X gave no answer", now=NOW)
    sent = store.resolve(b.id, "https://x.example/status/1", now=NOW)
    assert (sent.state, sent.remote_url) == (DeliveryState.SENT, "https://x.example/status/1")
    with pytest.raises(DeliveryConflict, match=r"cannot cancel delivery d_\w+: it is sent"):
        store.cancel(b.id)
    with pytest.raises(DeliveryConflict, match="cannot resolve"):
        store.resolve(a.id, None)
    cancelled = store.cancel(a.id, now=NOW)
    assert cancelled.state is DeliveryState.CANCELLED
    back = store.reschedule(a.id, at, now=NOW)
    assert back.state is DeliveryState.PLANNED
    reasons = [t.reason for t in store.history(a.id)]
    assert reasons[1].startswith("rescheduled by the operator")
    assert reasons[2] == "cancelled by the operator"
    assert [t.reason for t in store.history(b.id)][-1] == (
        "resolved by the operator: it was sent (https://x.example/status/1)"
    )


def test_resolve_not_sent_plans_it_again_now(store: Store) -> None:
    store.upsert(make_post(at=NOW), now=NOW)
    [d] = store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    store.mark_unknown(d.id, reason="timeout", now=NOW)
    later = NOW + timedelta(hours=1)
    again = store.resolve(d.id, None, now=later)
    assert (again.state, again.scheduled_at, again.attempts, again.idempotency_key) == (
        DeliveryState.PLANNED,
        later,
        0,
        d.idempotency_key,
    )
    assert store.next_due() == later


def test_an_unknown_id_names_the_command_that_lists_ids(store: Store) -> None:
    with pytest.raises(DeliveryNotFound) as caught:
        store.get("d_missing000")
    assert isinstance(caught.value, LookupError)
    assert "tagcast queue list" in str(caught.value)
    with pytest.raises(DeliveryNotFound):
        store.history("d_missing000")
    with pytest.raises(DeliveryNotFound):
        store.cancel("d_missing000")
