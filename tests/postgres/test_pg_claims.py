"""PostgreSQL's own locks do the coordination: a channel being claimed elsewhere, or a head row being changed
by another transaction, is skipped (``FOR UPDATE SKIP LOCKED``, advisory locks), never waited on or jumped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from store.store_support import NOW, queue

from scheduler.store import DeliveryState, Store
from scheduler.store.dialect import LOCK_CHANNEL

pytestmark = pytest.mark.postgres

LEASE = timedelta(minutes=5)


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[Store]:
    with Store.open(pg_url, root=tmp_path) as opened:
        yield opened


@pytest.fixture
def other(pg_url: str) -> Iterator[Engine]:
    """A second client of the same database: another worker, or an operator's command mid-transaction."""
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


def test_a_channel_that_another_worker_is_claiming_is_skipped(store: Store, other: Engine) -> None:
    [a] = queue(store, "a", -2)
    [b] = queue(store, "b", -1)
    with other.begin() as connection:  # another worker is inside its claim of channel a
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_CHANNEL, func.hashtext("a"))))
        assert [d.id for d in store.claim_due(NOW, worker="w1", lease=LEASE, limit=5)] == [b]
    assert [d.id for d in store.claim_due(NOW, worker="w1", lease=LEASE, limit=5)] == [a]


def test_a_locked_head_row_holds_its_channel_back_instead_of_being_jumped(
    store: Store, other: Engine
) -> None:
    a1, a2 = queue(store, "a", -3, -2)
    [b] = queue(store, "b", -1)
    with other.begin() as connection:  # e.g. `tagcast queue reschedule` on a1, not committed yet
        connection.execute(text("SELECT id FROM deliveries WHERE id = :id FOR UPDATE"), {"id": a1})
        claimed = store.claim_due(NOW, worker="w1", lease=LEASE, limit=5)
        assert [d.id for d in claimed] == [b]  # returned at once: skipped, not waited for
    [first] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=5)
    assert first.id == a1  # and a2 did not go before it
    assert store.get(a2).state is DeliveryState.PLANNED


def test_an_expired_lease_is_taken_over_by_one_worker_only(store: Store, pg_url: str, tmp_path: Path) -> None:
    ids = [queue(store, f"ch{n}", -1)[0] for n in range(6)]
    assert len(store.claim_due(NOW, worker="dead", lease=timedelta(seconds=3), limit=10)) == 6
    later = NOW + timedelta(seconds=4)
    assert {d.id for d in store.stale_sending(later)} == set(ids)
    with Store.open(pg_url, root=tmp_path) as second:
        first_half = store.claim_stale(later, worker="w1", lease=LEASE, limit=4)
        second_half = second.claim_stale(later, worker="w2", lease=LEASE, limit=4)
    assert len(first_half) == 4 and len(second_half) == 2
    assert {d.id for d in first_half}.isdisjoint(d.id for d in second_half)
    for delivery in first_half + second_half:
        reason = store.history(delivery.id)[-1].reason
        assert reason.startswith("lease of dead expired") and delivery.claimed_by in reason
        assert delivery.attempts == 1
    assert store.stale_sending(later) == []
