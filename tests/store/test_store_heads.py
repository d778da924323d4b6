"""Claims: the head of each due channel's queue, one per channel, in one transaction; the posts behind a head
stay planned until their own turn."""

from __future__ import annotations

from datetime import timedelta

from store_support import NOW, queue

from scheduler.adapters.base import Receipt
from scheduler.store import DeliveryState, Store

LEASE = timedelta(minutes=5)
RECEIPT = Receipt(remote_ids=("r1",), url="https://social.example/r1", extra={"status": 201})


def test_each_channel_gets_the_head_of_its_due_queue_oldest_head_first(store: Store) -> None:
    a = queue(store, "a", -30, -10, -20, 5)
    b = queue(store, "b", -40, -1)
    queue(store, "c", -50)
    store.pause_channel("c", until=None, reason="paused", now=NOW)

    claimed = store.claim_due(NOW, worker="w", lease=LEASE, limit=5)
    assert [d.id for d in claimed] == [b[0], a[0]]
    assert all(d.state is DeliveryState.SENDING and d.attempts == 1 and d.claimed_by == "w" for d in claimed)
    assert all(d.lease_until == NOW + LEASE for d in claimed)
    for delivery in claimed:
        [_, claim] = store.history(delivery.id)
        assert (claim.from_state, claim.to_state) == (DeliveryState.PLANNED, DeliveryState.SENDING)
        assert claim.reason == "claimed by w (attempt 1)"
    # the posts behind the heads stay planned: editable and cancellable until their own turn
    assert {store.get(i).state for i in (a[1], a[2], b[1])} == {DeliveryState.PLANNED}


def test_the_limit_counts_channels_and_a_busy_channel_gets_nothing(store: Store) -> None:
    a = queue(store, "a", -3, -2)
    b = queue(store, "b", -1)
    [first] = store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    assert first.id == a[0]
    [second] = store.claim_due(NOW, worker="w", lease=LEASE, limit=5)  # a is busy until a[0] is settled
    assert second.id == b[0]
    store.mark_sent(a[0], RECEIPT, now=NOW)
    assert [d.id for d in store.claim_due(NOW, worker="w", lease=LEASE, limit=5)] == [a[1]]
