"""A receipt that claims the slot's next post in the same commit (``mark_sent(..., then_claim=...)``), on
SQLite and PostgreSQL: the same choice as ``claim_due``, all or nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sql_trace import traced_statements
from store_support import NOW, queue
from test_store_claims import LEASE, RECEIPT

from scheduler.store import ClaimRequest, DeliveryConflict, DeliveryState, Store


def test_a_receipt_claims_what_claim_due_would_claim_next(store: Store) -> None:
    a = queue(store, "a", -30, -10)
    b = queue(store, "b", -20)
    [first] = store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    assert first.id == a[0]
    # b's head (-20) is due longer than a's next (-10): the freed slot goes to b, as claim_due would do
    [then] = store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
    assert then.id == b[0]
    assert (then.state, then.attempts, then.lease_until) == (DeliveryState.SENDING, 1, NOW + LEASE)
    [after] = store.mark_sent(b[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
    assert after.id == a[1]  # the same channel's next post, now that a is free again
    assert store.mark_sent(a[1], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE)) == []
    assert {d.state for d in store.list()} == {DeliveryState.SENT}
    assert [t.reason for t in store.history(a[1])][1:] == [
        "claimed by w1 (attempt 1)",
        "sent: https://social.example/@me/109",
    ]


def test_a_receipt_without_a_claim_claims_nothing(store: Store) -> None:
    a = queue(store, "a", -30, -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    assert store.mark_sent(a[0], RECEIPT, now=NOW) == []
    assert store.get(a[1]).state is DeliveryState.PLANNED


def test_a_refused_receipt_claims_nothing(store: Store) -> None:
    """The receipt and the claim are one transaction: a second receipt for a sent post is a conflict, and
    the post behind it stays planned."""
    a = queue(store, "a", -30, -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    store.mark_sent(a[0], RECEIPT, now=NOW)
    with pytest.raises(DeliveryConflict):
        store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
    assert store.get(a[1]).state is DeliveryState.PLANNED


def test_what_is_not_due_yet_is_not_claimed(store: Store) -> None:
    a = queue(store, "a", -30, 10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    assert store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE)) == []
    later = NOW + timedelta(minutes=10)
    assert store.get(a[1]).state is DeliveryState.PLANNED
    assert [d.id for d in store.claim_due(later, worker="w1", lease=LEASE, limit=1)] == [a[1]]


def test_a_receipt_claims_one_post_only(store: Store) -> None:
    a = queue(store, "a", -30)
    b = queue(store, "b", -20)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    with pytest.raises(ValueError, match="limit=1"):
        store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE, limit=2))
    assert {store.get(a[0]).state, store.get(b[0]).state} == {DeliveryState.SENDING, DeliveryState.PLANNED}


def test_a_retrying_head_is_claimed_as_a_retry(store: Store) -> None:
    """The next head may be a retry: claimed with its attempts counted on, and its history says it was
    retrying (SQLite claims it in a statement of its own, tried after the one for a planned head)."""
    a = queue(store, "a", -30, -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    store.mark_retry(a[0], at=NOW - timedelta(minutes=1), reason="HTTP 503", now=NOW)
    [b] = queue(store, "b", -20)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)  # b: due longer than a's retry
    [then] = store.mark_sent(b, RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
    assert (then.id, then.attempts, then.state) == (a[0], 2, DeliveryState.SENDING)
    last = store.history(a[0])[-1]
    assert (last.from_state, last.to_state) == (DeliveryState.RETRYING, DeliveryState.SENDING)
    assert last.reason == "claimed by w1 (attempt 2)"
    assert store.get(a[1]).state is DeliveryState.PLANNED


def test_a_receipt_that_claims_is_five_statements_on_sqlite(tmp_path: Path) -> None:
    """The commit of every post: the receipt, the next head read and claimed in one statement, both history
    rows (one insert), and the commit. Each statement is a hand-over of the interpreter lock (SQLite, on
    the store thread), so their number is the cost of a post."""
    store = Store.open(f"sqlite:///{tmp_path / 'outbox.db'}", root=tmp_path)  # its trace callback counts
    statements = traced_statements(store)
    a = queue(store, "a", -30, -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    statements.clear()
    [then] = store.mark_sent(a[0], RECEIPT, now=NOW, then_claim=ClaimRequest(NOW, "w1", LEASE))
    assert then.id == a[1]
    assert statements == [
        "BEGIN IMMEDIATE",
        "UPDATE deliveries SET",
        "UPDATE deliveries SET",
        "INSERT INTO transitions",
        "COMMIT",
    ]
    assert [t.reason for t in store.history(a[1])][-1] == "claimed by w1 (attempt 1)"
    assert store.history(a[0])[-1].reason == "sent: https://social.example/@me/109"
    store.close()
