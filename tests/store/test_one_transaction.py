"""Several Store calls in one transaction (``Store.one_transaction``), on SQLite and PostgreSQL: what the
service's store thread does with the calls that wait for it (group commit)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from store_support import NOW, queue
from test_store_claims import LEASE, RECEIPT

from scheduler.store import ClaimRequest, DeliveryState, Store
from scheduler.store.errors import DeliveryConflict


def test_calls_in_one_transaction_see_each_other_and_commit_together(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    a = queue(store, "a", -30, -10)
    b = queue(store, "b", -20)
    other = Store.open(db_url, root=tmp_path)  # another connection: sees only what is committed
    try:
        with store.one_transaction():
            [first] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
            assert first.id == a[0]
            assert store.get(a[0]).state is DeliveryState.SENDING  # read in the same transaction
            assert other.get(a[0]).state is DeliveryState.PLANNED  # not committed yet
            [then] = store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
            assert then.id == b[0]
            store.save_journal(b[0], {"step": 1})
        assert other.get(a[0]).state is DeliveryState.SENT
        assert other.get(b[0]).state is DeliveryState.SENDING
        assert other.get(b[0]).journal == {"step": 1}
        assert [t.reason for t in other.history(a[0])][1:] == [
            "claimed by w1 (attempt 1)",
            "sent: https://social.example/@me/109",
        ]
    finally:
        other.close()


def test_a_block_that_raises_leaves_nothing_written(store: Store) -> None:
    a = queue(store, "a", -30)
    with pytest.raises(DeliveryConflict), store.one_transaction():
        store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
        store.renew_lease(a[0], worker="w2", lease_until=NOW + LEASE)  # w1 holds it: a conflict
    assert store.get(a[0]).state is DeliveryState.PLANNED
    assert [t.to_state for t in store.history(a[0])] == [DeliveryState.PLANNED]
    with store.one_transaction():  # the thread's transaction is closed: a new one opens
        assert len(store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)) == 1


def test_one_transaction_does_not_nest(store: Store) -> None:
    with store.one_transaction(), pytest.raises(RuntimeError, match="already open"), store.one_transaction():
        pass


def test_other_threads_keep_their_own_transactions(store: Store) -> None:
    """The transaction is this thread's: a call on another thread commits on its own (on SQLite it waits
    for the write lock, so it runs once the shared transaction has committed)."""
    a = queue(store, "a", -30)
    b = queue(store, "b", -20)
    seen: list[DeliveryState] = []

    def elsewhere() -> None:
        store.claim_due(NOW, worker="w2", lease=LEASE, limit=1)
        seen.append(store.get(b[0]).state)

    with store.one_transaction():
        [mine] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
        assert mine.id == a[0]
        thread = threading.Thread(target=elsewhere)
        thread.start()
    thread.join()
    assert seen == [DeliveryState.SENDING]
    assert (store.get(a[0]).claimed_by, store.get(b[0]).claimed_by) == ("w1", "w2")
