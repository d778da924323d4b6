"""The misfire policy's many reschedules on PostgreSQL: one transaction; a row cancelled before it, or
locked and changed by another client while it runs (its read either waits for that client's commit or comes
after it), is left as that client made it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from store.store_support import NOW, make_post

from scheduler.store import DeliveryConflict, DeliveryState, Reslot, Store

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_url: str, tmp_path: Path) -> Iterator[Store]:
    with Store.open(pg_url, root=tmp_path) as opened:
        yield opened


def late(store: Store, count: int) -> list[str]:
    posts = [make_post(f"posts/p{n}.md", "a", at=NOW - timedelta(hours=2, minutes=n)) for n in range(count)]
    store.upsert_each(posts, lambda taken: lambda post, plan: post, now=NOW)  # one commit for the fixture
    return [d.id for d in store.late_planned(NOW)]


def test_many_reschedules_are_one_transaction_and_leave_changed_rows_alone(store: Store, pg_url: str) -> None:
    ids = late(store, 300)
    read = {d.id: d for d in store.late_planned(NOW, limit=1000)}
    assert len(read) == 300
    slot = NOW + timedelta(days=1)
    cancelled, locked = ids[0], ids[1]
    store.cancel(cancelled, now=NOW)
    other = create_engine(pg_url)
    try:
        held = other.connect()
        transaction = held.begin()
        held.execute(text("SELECT id FROM deliveries WHERE id = :id FOR UPDATE"), {"id": locked})
        answer: dict[str, DeliveryConflict] = {}
        rows = [Reslot.of(read[i], slot, "moved after downtime") for i in ids]
        worker = threading.Thread(target=lambda: answer.update(store.reschedule_many(rows, now=NOW)))
        worker.start()
        # the other client reschedules the row it locked, and commits
        held.execute(
            text("UPDATE deliveries SET scheduled_at = :at, updated_at = :at WHERE id = :id"),
            {"at": NOW + timedelta(days=9), "id": locked},
        )
        transaction.commit()
        held.close()
        worker.join()
    finally:
        other.dispose()
    assert sorted(answer) == sorted([cancelled, locked])
    assert "it is cancelled" in str(answer[cancelled]) and "changed while" in str(answer[locked])
    assert store.get(locked).scheduled_at == NOW + timedelta(days=9)
    assert store.get(cancelled).state is DeliveryState.CANCELLED
    for delivery_id in ids[2:]:
        assert store.get(delivery_id).scheduled_at == slot
        assert store.history(delivery_id)[-1].reason == "moved after downtime"
