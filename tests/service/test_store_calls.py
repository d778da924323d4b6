"""The store thread (``StoreCalls``): calls run in order, and the calls of the dispatch path that wait behind
a running call share one transaction (group commit), with the outcome each would have had alone."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sql_trace import checkouts, traced_statements

from scheduler.adapters.base import Receipt
from scheduler.models import Article, Post
from scheduler.service.storecalls import GROUP_MAX, StoreCalls
from scheduler.store import ClaimRequest, DeliveryConflict, DeliveryState, Store

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
RECEIPT = Receipt(remote_ids=("1",), url="https://social.example/@me/1")


def planned(store: Store, channel: str, minutes: int) -> str:
    """One delivery on ``channel`` due ``minutes`` after NOW; its id."""
    source = f"posts/{channel}-{minutes}.md"
    article = Article(source=source, title="T", body="B", url=f"https://example.org/{source}")
    post = Post(
        article=article,
        channel=channel,
        network="file",
        rule="r",
        template="t.j2",
        parts=("T",),
        lengths=(1,),
        limit=500,
        unit="characters",
        scheduled_at=NOW + timedelta(minutes=minutes),
    )
    store.upsert(post, now=NOW)
    return next(d.id for d in store.list(channel=channel, limit=100) if d.source == source)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'outbox.db'}", root=tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def statements(store: Store) -> list[str]:
    """The first three words of every statement the store's connections run, as SQLite traces them."""
    return traced_statements(store)


def commits(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql == "COMMIT"]


@pytest.fixture
def calls(store: Store) -> Iterator[StoreCalls]:
    """The service's store thread, with group commit, keeping one connection."""
    thread = StoreCalls(store.one_transaction, pinned=store.pinned)
    yield thread
    thread.close()


def behind_a_busy_thread(calls: StoreCalls, *waiting: Callable[[], Awaitable[Any]]) -> list[Any]:
    """Run the ``waiting`` calls while the store thread is busy with another call, so that they queue up
    behind it, then let it finish; each call's outcome (its value, or what it raised), in order."""
    return asyncio.run(_behind_a_busy_thread(calls, *waiting))


async def _behind_a_busy_thread(calls: StoreCalls, *waiting: Callable[[], Awaitable[Any]]) -> list[Any]:
    started, release = threading.Event(), threading.Event()

    def busy() -> None:
        started.set()
        release.wait()

    blocker = asyncio.ensure_future(calls(busy))
    await asyncio.to_thread(started.wait)
    tasks = [asyncio.ensure_future(call()) for call in waiting]
    await asyncio.sleep(0)  # each task has put its call in the queue
    release.set()
    await blocker
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def test_calls_waiting_behind_a_running_call_share_one_commit(
    store: Store, calls: StoreCalls, statements: list[str]
) -> None:
    a, b, c = (planned(store, name, -10) for name in "abc")
    claimed = store.claim_due(NOW, worker="w1", lease=LEASE, limit=3)
    assert len(claimed) == 3
    statements.clear()
    outcomes = behind_a_busy_thread(
        calls,
        lambda: calls(store.mark_sent, a, RECEIPT, now=NOW),
        lambda: calls(store.save_journal, b, {"step": 1}),
        lambda: calls(store.renew_lease, c, worker="w1", lease_until=NOW + 2 * LEASE),
        lambda: calls(store.next_due, NOW),
    )
    assert outcomes == [[], None, None, None]
    assert commits(statements) == ["COMMIT"]  # one transaction for the four
    assert store.get(a).state is DeliveryState.SENT
    assert store.get(b).journal == {"step": 1}
    assert store.get(c).lease_until == NOW + 2 * LEASE


def test_a_call_that_fails_in_a_group_fails_alone(
    store: Store, calls: StoreCalls, statements: list[str]
) -> None:
    """The shared transaction is rolled back and each call runs again alone: the failing call's caller gets
    its error, and the others are recorded as if the group had never been."""
    a, b = planned(store, "a", -10), planned(store, "b", -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=2)
    statements.clear()
    outcomes = behind_a_busy_thread(
        calls,
        lambda: calls(store.save_journal, a, {"step": 1}),
        lambda: calls(store.renew_lease, b, worker="w2", lease_until=NOW + LEASE),  # w1 holds b
        lambda: calls(store.mark_sent, b, RECEIPT, now=NOW),
    )
    assert outcomes[0] is None and outcomes[2] == []
    assert isinstance(outcomes[1], DeliveryConflict)
    assert len(commits(statements)) == 2  # the journal and the receipt, each alone; the conflict: none
    assert store.get(a).journal == {"step": 1}
    assert store.get(b).state is DeliveryState.SENT
    assert [t.to_state for t in store.history(a)] == [DeliveryState.PLANNED, DeliveryState.SENDING]


def test_a_call_that_cannot_share_runs_alone_in_its_turn(
    store: Store, calls: StoreCalls, statements: list[str]
) -> None:
    """Order holds across groups: a call of any other function (here one that reads the outbox on its own
    connection) ends the group before it, which is committed before it runs; the calls after it form the
    next group."""
    a, b = planned(store, "a", -10), planned(store, "b", -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=2)
    statements.clear()

    def state_of_a() -> DeliveryState:
        return store.get(a).state

    outcomes = behind_a_busy_thread(
        calls,
        lambda: calls(store.mark_sent, a, RECEIPT, now=NOW),
        lambda: calls(store.save_journal, a, {"late": True}),
        lambda: calls(state_of_a),
        lambda: calls(store.save_journal, b, {"step": 1}),
        lambda: calls(store.mark_sent, b, RECEIPT, now=NOW),
    )
    assert outcomes == [[], None, DeliveryState.SENT, None, []]
    assert commits(statements) == ["COMMIT", "COMMIT"]  # a's two calls, then b's two


def test_without_a_shared_transaction_each_call_commits_alone(store: Store, statements: list[str]) -> None:
    a, b = planned(store, "a", -10), planned(store, "b", -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=2)
    alone = StoreCalls()
    statements.clear()
    try:
        behind_a_busy_thread(
            alone,
            lambda: alone(store.save_journal, a, {"step": 1}),
            lambda: alone(store.save_journal, b, {"step": 1}),
        )
    finally:
        alone.close()
    assert commits(statements) == ["COMMIT", "COMMIT"]


def test_the_store_thread_keeps_one_connection_and_gives_it_back_when_closed(store: Store) -> None:
    a, b = planned(store, "a", -10), planned(store, "b", -10)
    taken = checkouts(store)
    thread = StoreCalls(store.one_transaction, pinned=store.pinned)

    async def work() -> None:
        for delivery in await thread(store.claim_due, NOW, worker="w1", lease=LEASE, limit=2):
            await thread(store.mark_sent, delivery.id, RECEIPT, now=NOW)
        assert {(await thread(store.get, d)).state for d in (a, b)} == {DeliveryState.SENT}

    try:
        asyncio.run(work())
        assert len(taken) == 1
        assert store.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        thread.close()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_group_is_bounded(store: Store, calls: StoreCalls, statements: list[str]) -> None:
    """At most GROUP_MAX calls share a transaction (it holds the database's write lock meanwhile)."""
    a = planned(store, "a", -10)
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=1)
    statements.clear()
    journal = [lambda n=n: calls(store.save_journal, a, {"n": n}) for n in range(GROUP_MAX + 1)]
    behind_a_busy_thread(calls, *journal)
    assert commits(statements) == ["COMMIT", "COMMIT"]
    assert store.get(a).journal == {"n": GROUP_MAX}


def test_a_receipt_that_claims_in_a_group_claims_what_it_would_alone(
    store: Store, calls: StoreCalls, statements: list[str]
) -> None:
    """Two receipts in one group each claim the next post: the second sees the first's claim (its channel
    is busy again), exactly as two commits one after the other would. Their history is one insert."""
    a = [planned(store, "a", -30), planned(store, "a", -20)]
    b = [planned(store, "b", -25)]
    store.claim_due(NOW, worker="w1", lease=LEASE, limit=2)
    then = ClaimRequest(NOW, "w1", LEASE)
    statements.clear()
    first, second = behind_a_busy_thread(
        calls,
        lambda: calls(store.mark_sent, a[0], RECEIPT, now=NOW, then_claim=then),
        lambda: calls(store.mark_sent, b[0], RECEIPT, now=NOW, then_claim=then),
    )
    assert [d.id for d in first] == [a[1]]
    assert second == []  # b has nothing more, and a is busy with a[1]
    assert store.get(a[1]).state is DeliveryState.SENDING
    assert statements.count("INSERT INTO transitions") == 1  # three rows, written when the group ends
    assert [t.reason for t in store.history(a[1])][-1] == "claimed by w1 (attempt 1)"
