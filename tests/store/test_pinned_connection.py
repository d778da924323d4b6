"""A thread that keeps one connection for its transactions (``Store.pinned``), as the service's store thread
does on SQLite: the same statements and the same outcomes as with a connection from the pool for each."""

from __future__ import annotations

from pathlib import Path

import pytest
from sql_trace import checkouts, traced_statements
from store_support import NOW, queue
from test_store_claims import LEASE, RECEIPT

from scheduler.store import ClaimRequest, DeliveryConflict, DeliveryState, Store
from scheduler.store.dialect import pins_connections


def test_only_sqlite_pins_a_connection(store: Store, db_url: str) -> None:
    """PostgreSQL connections are checked before each use (a restarted server must not fail a claim)."""
    assert pins_connections(store.engine) is db_url.startswith("sqlite")


def test_a_pinned_thread_takes_one_connection_for_all_its_transactions(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = Store.open(sqlite_url, root=tmp_path)
    a = queue(store, "a", -30, -10)
    taken = checkouts(store)
    with store.pinned():
        [first] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
        [then] = store.mark_sent(first.id, RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
        assert then.id == a[1]
        assert store.get(a[0]).state is DeliveryState.SENT  # a read, on the same connection
        store.mark_sent(a[1], RECEIPT, now=NOW)
        assert len(taken) == 1
        assert store.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # given back at the end
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    store.get(a[0])
    assert len(taken) == 3  # unpinned again: one check-out for each
    store.close()


def test_pinned_transactions_are_the_same_statements_durable_or_not(sqlite_url: str, tmp_path: Path) -> None:
    """A receipt that claims is a durable write; one that claims nothing a relaxed one (it does not wait for
    the disk); a read is a plain ``BEGIN``. On the kept connection each still sets what it needs."""
    store = Store.open(sqlite_url, root=tmp_path)
    a = queue(store, "a", -30, -20, -10)
    seen = traced_statements(store)
    with store.pinned():
        store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
        store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
        store.mark_sent(a[1], RECEIPT, now=NOW)
        store.get(a[1])
        store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    assert [sql for sql in seen if sql.startswith(("BEGIN", "PRAGMA synchronous", "COMMIT", "ROLLBACK"))] == [
        "BEGIN IMMEDIATE",  # the claim
        "COMMIT",
        "BEGIN IMMEDIATE",  # the receipt that claims
        "COMMIT",
        "PRAGMA synchronous =",  # NORMAL: the receipt that claims nothing
        "BEGIN IMMEDIATE",
        "COMMIT",
        "BEGIN",  # the read
        "ROLLBACK",
        "PRAGMA synchronous =",  # FULL again: a claim
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    store.close()


def test_a_pinned_connection_reads_what_others_committed_meanwhile(sqlite_url: str, tmp_path: Path) -> None:
    store = Store.open(sqlite_url, root=tmp_path)
    other = Store.open(sqlite_url, root=tmp_path)
    a = queue(store, "a", -30)
    with store.pinned():
        assert store.get(a[0]).state is DeliveryState.PLANNED
        other.claim_due(NOW, worker="w2", lease=LEASE, limit=1)
        assert store.get(a[0]).state is DeliveryState.SENDING
        assert store.claim_due(NOW, worker="w1", lease=LEASE, limit=1) == []  # w2 holds the channel
    other.close()
    store.close()


def test_a_transaction_that_fails_on_the_pinned_connection_is_rolled_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = Store.open(sqlite_url, root=tmp_path)
    a = queue(store, "a", -30)
    with store.pinned():
        with pytest.raises(DeliveryConflict), store.one_transaction():
            store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
            store.renew_lease(a[0], worker="w2", lease_until=NOW + LEASE)  # w1 holds it: a conflict
        assert store.get(a[0]).state is DeliveryState.PLANNED
        [claimed] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)  # the connection still works
        assert claimed.id == a[0]
    assert [t.to_state for t in store.history(a[0])] == [DeliveryState.PLANNED, DeliveryState.SENDING]
    store.close()
