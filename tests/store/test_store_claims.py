"""claim_due: one per channel, oldest first, never a paused or busy channel; leases; outcomes and reasons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from store_support import NOW, queue

from scheduler.adapters.base import Receipt
from scheduler.store import DeliveryConflict, DeliveryNotFound, DeliveryState, Store

LEASE = timedelta(minutes=5)
RECEIPT = Receipt(remote_ids=("109", "110"), url="https://social.example/@me/109", extra={"cid": "x"})


def test_one_delivery_per_channel_the_oldest_due_first(store: Store) -> None:
    a = queue(store, "a", -30, -10, -20, 5)
    b = queue(store, "b", -5, -1)
    claimed = store.claim_due(NOW, worker="w1", lease=LEASE, limit=10)
    assert [d.id for d in claimed] == [a[0], b[0]]  # oldest channel first, oldest row of each channel
    first = claimed[0]
    assert first.state is DeliveryState.SENDING
    assert (first.attempts, first.claimed_by, first.lease_until) == (1, "w1", NOW + LEASE)
    # both channels are busy now: nothing more until they are settled
    assert store.claim_due(NOW, worker="w2", lease=LEASE, limit=10) == []
    store.mark_sent(a[0], RECEIPT, now=NOW)
    [next_a] = store.claim_due(NOW, worker="w2", lease=LEASE, limit=10)
    assert next_a.id == a[2]  # -20 before -10
    store.mark_sent(a[2], RECEIPT, now=NOW)
    assert [d.id for d in store.claim_due(NOW, worker="w2", lease=LEASE, limit=10)] == [a[1]]
    store.mark_sent(a[1], RECEIPT, now=NOW)
    assert store.claim_due(NOW, worker="w2", lease=LEASE, limit=10) == []  # a[3] is not due yet
    assert store.next_due() == NOW + timedelta(minutes=5)


def test_the_limit_counts_channels(store: Store) -> None:
    for channel in ("a", "b", "c"):
        queue(store, channel, -1)
    assert len(store.claim_due(NOW, worker="w", lease=LEASE, limit=2)) == 2
    assert len(store.claim_due(NOW, worker="w", lease=LEASE, limit=2)) == 1
    assert store.claim_due(NOW, worker="w", lease=LEASE, limit=0) == []


def test_a_paused_channel_is_skipped_until_it_is_resumed_or_its_pause_ends(store: Store) -> None:
    [a] = queue(store, "a", -10)
    [b] = queue(store, "b", -5)
    store.pause_channel("a", until=None, reason="token revoked", now=NOW)
    assert set(store.paused(NOW)) == {"a"}
    assert store.paused(NOW)["a"].reason == "token revoked"
    assert [d.id for d in store.claim_due(NOW, worker="w", lease=LEASE, limit=5)] == [b]
    store.mark_sent(b, RECEIPT, now=NOW)
    assert store.next_due(NOW) is None  # only a is left, and it is paused
    assert store.resume_channel("a") is True
    assert store.resume_channel("a") is False
    store.pause_channel("a", until=NOW + timedelta(hours=1), reason="rate limited", now=NOW)
    assert store.next_due(NOW) == NOW + timedelta(hours=1)
    assert store.claim_due(NOW, worker="w", lease=LEASE, limit=5) == []
    later = NOW + timedelta(hours=1, seconds=1)
    assert store.paused(later) == {}
    assert [d.id for d in store.claim_due(later, worker="w", lease=LEASE, limit=5)] == [a]


def test_retry_waits_for_its_time_and_counts_attempts(store: Store) -> None:
    [a] = queue(store, "a", -1)
    store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    store.mark_retry(a, at=NOW + timedelta(minutes=3), reason="HTTP 503", now=NOW)
    retrying = store.get(a)
    assert retrying.state is DeliveryState.RETRYING
    assert retrying.next_attempt_at == NOW + timedelta(minutes=3)
    assert (retrying.claimed_by, retrying.lease_until, retrying.last_error) == (None, None, "HTTP 503")
    assert store.next_due() == NOW + timedelta(minutes=3)
    assert store.claim_due(NOW + timedelta(minutes=2), worker="w", lease=LEASE, limit=1) == []
    [again] = store.claim_due(NOW + timedelta(minutes=3), worker="w", lease=LEASE, limit=1)
    assert (again.id, again.attempts) == (a, 2)
    assert again.idempotency_key == retrying.idempotency_key


def test_outcomes_record_the_receipt_and_every_transition_has_a_reason(store: Store) -> None:
    a, b, c = queue(store, "a", -3), queue(store, "b", -2), queue(store, "c", -1)
    store.claim_due(NOW, worker="w", lease=LEASE, limit=3)
    store.save_journal(a[0], {"rkey": "3k2"})
    store.mark_sent(a[0], RECEIPT, now=NOW)
    store.mark_failed(b[0], reason="422: text too long", now=NOW)
    store.mark_unknown(c[0], reason="connection reset after the request was sent", now=NOW)
    sent = store.get(a[0])
    assert sent.journal == {"rkey": "3k2"}
    assert sent.remote_ids == ("109", "110")
    assert sent.remote_url == "https://social.example/@me/109"
    assert sent.receipt == {"cid": "x"}
    assert (sent.claimed_by, sent.lease_until) == (None, None)
    assert store.get(b[0]).state is DeliveryState.FAILED
    assert store.get(c[0]).last_error == "connection reset after the request was sent"
    history = store.history(c[0])
    assert [(t.from_state, t.to_state) for t in history] == [
        (None, DeliveryState.PLANNED),
        (DeliveryState.PLANNED, DeliveryState.SENDING),
        (DeliveryState.SENDING, DeliveryState.UNKNOWN),
    ]
    assert all(t.reason for t in history)
    assert "claimed by w (attempt 1)" in history[1].reason
    errors = store.recent_errors()
    assert [(d.id, reason) for d, reason in errors] == [
        (c[0], "outcome unknown: connection reset after the request was sent"),
        (b[0], "failed: 422: text too long"),
    ]
    assert store.counts() == {"a": {"sent": 1}, "b": {"failed": 1}, "c": {"unknown": 1}}


def test_settling_a_delivery_that_is_not_sending_is_a_conflict(store: Store) -> None:
    [a] = queue(store, "a", -1)
    with pytest.raises(DeliveryConflict, match="planned"):
        store.mark_failed(a, reason="x", now=NOW)
    with pytest.raises(DeliveryConflict):
        store.mark_retry(a, at=NOW, reason="x", now=NOW)
    store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    store.mark_sent(a, RECEIPT, now=NOW)
    with pytest.raises(DeliveryConflict, match="already sent"):
        store.mark_sent(a, RECEIPT, now=NOW)
    with pytest.raises(DeliveryNotFound):
        store.mark_unknown("d_nosuchrow0", reason="x", now=NOW)


def test_leases_expire_and_a_stale_delivery_is_taken_over_once(store: Store) -> None:
    [a] = queue(store, "a", -1)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    store.renew_lease(a, worker="w1", lease_until=NOW + timedelta(minutes=10))
    with pytest.raises(DeliveryConflict, match="w2 no longer holds"):
        store.renew_lease(a, worker="w2", lease_until=NOW + timedelta(minutes=10))
    assert store.stale_sending(NOW + timedelta(minutes=9)) == []
    later = NOW + timedelta(minutes=11)
    assert [d.id for d in store.stale_sending(later)] == [a]
    [taken] = store.claim_stale(later, worker="w2", lease=LEASE)
    assert (taken.id, taken.claimed_by, taken.attempts) == (a, "w2", 1)
    assert store.claim_stale(later, worker="w3", lease=LEASE) == []
    assert "taken over by w2" in store.history(a)[-1].reason
    # the channel stays busy while its delivery is sending
    queue(store, "a", -2)
    assert store.claim_due(later, worker="w3", lease=LEASE, limit=5) == []
    assert store.next_due(later) is None
