"""Several Store calls in one transaction (``Store.one_transaction``), on SQLite and PostgreSQL: what the
service's store thread does with the calls that wait for it (group commit)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from store_support import NOW, queue
from test_store_claims import LEASE, RECEIPT

from scheduler.store import ClaimRequest, DeliveryState, Store
from scheduler.store.base import HISTORY_ROWS_MAX
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


def test_the_history_of_the_calls_is_written_at_the_end_in_order(store: Store) -> None:
    """Every row of history the calls make, written when the block ends (in one statement, or one per
    HISTORY_ROWS_MAX rows), in the order the calls made them; none when the block raises."""
    ids = [queue(store, f"c{n:02d}", -30)[0] for n in range(HISTORY_ROWS_MAX + 6)]
    with store.one_transaction():
        claimed = store.claim_due(NOW, worker="w1", lease=LEASE, limit=len(ids))
        assert len(claimed) == len(ids)
        store.mark_sent(ids[0], RECEIPT, now=NOW)
    for delivery_id in ids:
        assert [t.to_state for t in store.history(delivery_id)][:2] == [
            DeliveryState.PLANNED,
            DeliveryState.SENDING,
        ]
    assert [t.to_state for t in store.history(ids[0])] == [
        DeliveryState.PLANNED,
        DeliveryState.SENDING,
        DeliveryState.SENT,
    ]
    with pytest.raises(DeliveryConflict), store.one_transaction():
        store.mark_sent(ids[1], RECEIPT, now=NOW)
        store.renew_lease(ids[2], worker="w2", lease_until=NOW + LEASE)
    assert len(store.history(ids[1])) == 2
