"""Batches: a channel's next due deliveries claimed at once (SQLite; one at a time on PostgreSQL), given back
when they were not started, their receipts recorded together (a commit that need not reach the disk), their
leases renewed together, and the reconciler taking a dead worker's batch in slot order."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from store_support import NOW, make_post

from scheduler.adapters.base import Receipt
from scheduler.store import DeliveryConflict, DeliveryNotFound, DeliveryState, Store

LEASE = timedelta(minutes=5)
RECEIPT = Receipt(remote_ids=("r1",), url="https://social.example/r1", extra={"status": 201})


def queue(store: Store, channel: str, *minutes: int) -> list[str]:
    """One delivery per offset (minutes after NOW) on ``channel``; their ids in that order."""
    for n in minutes:
        store.upsert(make_post(f"posts/{channel}-{n}.md", channel, at=NOW + timedelta(minutes=n)), now=NOW)
    by_source = {d.source: d.id for d in store.list(channel=channel, limit=1000)}
    return [by_source[f"posts/{channel}-{n}.md"] for n in minutes]


def one_at_a_time(store: Store) -> bool:
    return store.engine.dialect.name == "postgresql"


def test_a_batch_is_the_channels_next_due_deliveries_in_slot_order(store: Store) -> None:
    a = queue(store, "a", -30, -10, -20, -5, 5)
    b = queue(store, "b", -40, -1)
    queue(store, "c", -50)
    store.pause_channel("c", until=None, reason="paused", now=NOW)

    claimed = store.claim_due(NOW, worker="w", lease=LEASE, limit=5, per_channel={"a": 3, "b": 5})
    if one_at_a_time(store):
        assert [d.id for d in claimed] == [b[0], a[0]]
    else:  # channel by channel, oldest head first; each in slot order; a[4] is not due yet
        assert [d.id for d in claimed] == [b[0], b[1], a[0], a[2], a[1]]
    assert all(d.state is DeliveryState.SENDING and d.attempts == 1 and d.claimed_by == "w" for d in claimed)
    assert all(d.lease_until == NOW + LEASE for d in claimed)
    for delivery in claimed:
        [_, claim] = store.history(delivery.id)
        assert (claim.from_state, claim.to_state) == (DeliveryState.PLANNED, DeliveryState.SENDING)
        assert claim.reason == "claimed by w (attempt 1)"
    # the channels are busy now, and a channel not named in the mapping gets one at a time
    assert store.claim_due(NOW, worker="w2", lease=LEASE, limit=5, per_channel=9) == []


def test_the_limit_counts_channels_not_deliveries(store: Store) -> None:
    for channel in ("a", "b", "c"):
        queue(store, channel, -3, -2, -1)
    claimed = store.claim_due(NOW, worker="w", lease=LEASE, limit=2, per_channel=3)
    assert {d.channel for d in claimed} == {"a", "b"}
    assert len(claimed) == (2 if one_at_a_time(store) else 6)


def test_a_batch_goes_on_with_the_channels_next_posts_in_slot_order(store: Store) -> None:
    a = queue(store, "a", -5, -4, -3, -2, -1, 5)
    batch = store.claim_due(NOW, worker="w", lease=LEASE, limit=1, per_channel=2)
    if one_at_a_time(store):  # PostgreSQL: a worker holds one delivery per channel, no more
        assert store.claim_more(batch[-1], NOW, worker="w", lease=LEASE, size=3) == []
        return
    assert [d.id for d in batch] == a[:2]
    assert store.claim_more(batch[-1], NOW, worker="other", lease=LEASE, size=3) == []  # w holds the channel
    more = store.claim_more(batch[-1], NOW, worker="w", lease=LEASE, size=3)
    assert [d.id for d in more] == a[2:5]
    assert all(d.state is DeliveryState.SENDING and d.claimed_by == "w" for d in more)
    # a post due meanwhile with an earlier slot is not taken behind the batch: it waits for the next claim
    early = queue(store, "a", -30)[0]
    assert store.claim_more(more[-1], NOW, worker="w", lease=LEASE, size=3) == []  # a[5] is not due
    store.pause_channel("a", until=None, reason="paused", now=NOW)
    assert store.claim_more(more[-1], NOW + timedelta(hours=1), worker="w", lease=LEASE, size=3) == []
    assert store.get(early).state is DeliveryState.PLANNED


def test_what_was_not_started_is_given_back_as_it_was(store: Store) -> None:
    a = queue(store, "a", -3, -2, -1)
    [first] = store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    store.mark_retry(first.id, at=NOW, reason="HTTP 503", now=NOW)  # retrying, due again now
    batch = store.claim_due(NOW, worker="w", lease=LEASE, limit=1, per_channel=3)
    ids = [d.id for d in batch]
    assert ids[0] == a[0] and batch[0].attempts == 2

    assert store.release(ids, worker="someone else", reason="x", now=NOW) == []
    released = store.release(ids, worker="w", reason="given back unsent: stopping", now=NOW)
    assert released == ids
    retrying, *planned = (store.get(i) for i in ids)
    assert (retrying.state, retrying.attempts, retrying.next_attempt_at) == (DeliveryState.RETRYING, 1, NOW)
    assert all((d.state, d.attempts, d.claimed_by) == (DeliveryState.PLANNED, 0, None) for d in planned)
    assert store.history(ids[-1])[-1].reason == "given back unsent: stopping"
    assert store.release(ids, worker="w", reason="again", now=NOW) == []  # not sending any more
    # claimable again, in the same order
    assert [d.id for d in store.claim_due(NOW, worker="w", lease=LEASE, limit=1, per_channel=3)] == ids


def test_receipts_are_recorded_together_and_each_gets_its_own_outcome(store: Store) -> None:
    ids = [queue(store, channel, -1)[0] for channel in ("a", "b", "c")]
    store.claim_due(NOW, worker="w", lease=LEASE, limit=3)
    later = NOW + timedelta(seconds=2)
    assert store.mark_sent_many([(i, RECEIPT, later) for i in ids[:2]]) == [None, None]
    for delivery_id in ids[:2]:
        sent = store.get(delivery_id)
        assert (sent.state, sent.remote_ids, sent.remote_url) == (DeliveryState.SENT, ("r1",), RECEIPT.url)
        assert (sent.receipt, sent.claimed_by, sent.lease_until) == ({"status": 201}, None, None)
        assert store.history(delivery_id)[-1].reason == f"sent: {RECEIPT.url}"
        assert store.history(delivery_id)[-1].at == later

    # one already sent, one that does not exist: they fail alone, the third is recorded
    outcomes = store.mark_sent_many(
        [(ids[0], RECEIPT, later), ("d_nosuchrow0", RECEIPT, later), (ids[2], RECEIPT, later)]
    )
    assert isinstance(outcomes[0], DeliveryConflict) and isinstance(outcomes[1], DeliveryNotFound)
    assert outcomes[2] is None and store.get(ids[2]).state is DeliveryState.SENT


def test_leases_of_a_batch_are_renewed_together_while_they_are_held(store: Store) -> None:
    a = queue(store, "a", -3, -2, -1)
    ids = [d.id for d in store.claim_due(NOW, worker="w", lease=LEASE, limit=1, per_channel=3)]
    store.mark_sent(ids[0], RECEIPT, now=NOW)
    later = NOW + timedelta(minutes=10)
    held = store.renew_leases(a, worker="w", lease_until=later)
    assert held == set(ids[1:])
    assert all(store.get(i).lease_until == later for i in held)
    assert store.renew_leases(a, worker="other", lease_until=later) == set()


def test_a_dead_workers_batch_is_taken_over_from_its_head(store: Store) -> None:
    if one_at_a_time(store):
        pytest.skip("PostgreSQL claims one delivery per channel: there are no batches to take over")
    a = queue(store, "a", -3, -2, -1)
    store.claim_due(NOW, worker="dead", lease=timedelta(seconds=1), limit=1, per_channel=3)
    later = NOW + timedelta(seconds=5)
    [head] = store.claim_stale(later, worker="w1", lease=timedelta(seconds=30), limit=1)
    assert head.id == a[0]
    # the rest waits behind the head's live lease, so the channel is reconciled in slot order
    assert store.claim_stale(later, worker="w2", lease=LEASE) == []
    store.mark_sent(head.id, RECEIPT, now=later)
    assert [d.id for d in store.claim_stale(later, worker="w2", lease=LEASE)] == a[1:]


def test_receipts_skip_the_disk_flush_and_claims_do_not(sqlite_url: str, tmp_path: Path) -> None:
    """What :func:`scheduler.store.dialect.relaxed` promises: receipts commit with synchronous = NORMAL
    (lost at worst in a power cut, then reconciled), claims and journals with FULL (on disk)."""
    with Store.open(sqlite_url, root=tmp_path) as store:
        ids = [queue(store, channel, -1)[0] for channel in ("a", "b")]
        seen: list[str] = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.startswith(("PRAGMA synchronous", "BEGIN")):
                seen.append(statement)

        [first] = store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
        store.mark_sent_many([(first.id, RECEIPT, NOW)])
        store.save_journal(ids[1], {"k": 1})
        assert seen == [
            "BEGIN IMMEDIATE",
            "PRAGMA synchronous = NORMAL",
            "BEGIN IMMEDIATE",
            "PRAGMA synchronous = FULL",
            "BEGIN IMMEDIATE",
        ]


def test_receipts_in_a_shared_transaction_fail_together_to_be_run_again_alone(store: Store) -> None:
    """In a group commit, a receipt that would fail must not leave the others half-written: the whole call
    raises, the transaction rolls back, and the call alone then gives each receipt its outcome."""
    ids = [queue(store, channel, -1)[0] for channel in ("a", "b")]
    store.claim_due(NOW, worker="w", lease=LEASE, limit=2)
    store.mark_sent(ids[1], RECEIPT, now=NOW)
    receipts = [(ids[0], RECEIPT, NOW), (ids[1], RECEIPT, NOW)]
    with pytest.raises(DeliveryConflict, match="not every delivery"), store.transaction():
        store.mark_sent_many(receipts)
    assert store.get(ids[0]).state is DeliveryState.SENDING  # rolled back with the group
    outcomes = store.mark_sent_many(receipts)
    assert outcomes[0] is None and isinstance(outcomes[1], DeliveryConflict)
    assert store.get(ids[0]).state is DeliveryState.SENT


def test_a_shared_transaction_commits_several_calls_at_once(store: Store) -> None:
    ids = [queue(store, channel, -1)[0] for channel in ("a", "b")]
    store.claim_due(NOW, worker="w", lease=LEASE, limit=2)
    with pytest.raises(RuntimeError), store.transaction():
        store.mark_sent(ids[0], RECEIPT, now=NOW)
        store.save_journal(ids[1], {"k": 1})
        assert store.get(ids[0]).state is DeliveryState.SENT  # seen inside the transaction
        raise RuntimeError("rolls both back")
    assert store.get(ids[0]).state is DeliveryState.SENDING and store.get(ids[1]).journal == {}
    with store.transaction():
        store.mark_sent(ids[0], RECEIPT, now=NOW)
        store.save_journal(ids[1], {"k": 1})
    assert store.get(ids[0]).state is DeliveryState.SENT and store.get(ids[1]).journal == {"k": 1}
