"""Two processes claim from one outbox at once (one SQLite file, or one PostgreSQL database): every delivery
is claimed and sent exactly once, and a channel never has two deliveries in flight."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from store_support import make_post

from scheduler.store import DeliveryState, Store
from scheduler.store.schema import deliveries, transitions

WORKER = Path(__file__).with_name("claim_worker.py")
ROWS = 200
CHANNELS = 8


def test_two_processes_claim_every_row_exactly_once(store: Store, db_url: str, tmp_path: Path) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    for n in range(ROWS):
        post = make_post(f"posts/{n:03}.md", f"ch{n % CHANNELS}", at=past + timedelta(seconds=n))
        store.upsert(post, now=past)
    start = tmp_path / "start"
    outputs = [tmp_path / f"w{n}.txt" for n in (1, 2)]
    repo = Path(__file__).resolve().parents[2]
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, str(tmp_path), f"w{n}", str(start), str(out)],
            cwd=repo,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, out in zip((1, 2), outputs, strict=True)
    ]
    deadline = time.monotonic() + 60
    while not all(out.exists() for out in outputs):  # both have opened the store
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(process.poll() is None for process in processes), "a worker died while starting"
        time.sleep(0.01)
    start.touch()
    for process in processes:
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr

    claims = [out.read_text(encoding="utf-8").split() for out in outputs]
    assert all(claims), "both processes should have claimed some rows"
    every = claims[0] + claims[1]
    assert len(every) == ROWS
    assert len(set(every)) == ROWS  # nobody claimed a row twice
    assert set(claims[0]).isdisjoint(claims[1])

    rows = store.list(limit=ROWS + 1)
    assert len(rows) == ROWS
    assert {d.state for d in rows} == {DeliveryState.SENT}
    assert {d.attempts for d in rows} == {1}
    owner = {delivery_id: f"w{n}" for n, ids in ((1, claims[0]), (2, claims[1])) for delivery_id in ids}
    for delivery in rows:
        history = store.history(delivery.id)
        assert [(t.from_state, t.to_state) for t in history] == [
            (None, DeliveryState.PLANNED),
            (DeliveryState.PLANNED, DeliveryState.SENDING),
            (DeliveryState.SENDING, DeliveryState.SENT),
        ]
        assert history[1].reason == f"claimed by {owner[delivery.id]} (attempt 1)"
        assert delivery.remote_ids == (f"remote-{delivery.id}",)

    # in commit order, each channel alternates claim, sent, claim, sent: never two in flight at once,
    # and within a channel the slots go out in order
    # (on PostgreSQL, transition ids of one channel are in commit order too: a claim of a channel starts only
    # after the previous send of that channel was committed, and takes its id after that)
    query = (
        select(deliveries.c.channel, transitions.c.to_state, deliveries.c.scheduled_at)
        .join(deliveries, deliveries.c.id == transitions.c.delivery_id)
        .where(transitions.c.from_state.is_not(None))
        .order_by(transitions.c.id)
    )
    with store.engine.connect() as connection:
        events = connection.execute(query).all()
    per_channel: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for channel, to_state, scheduled_at in events:
        per_channel[channel].append((to_state, scheduled_at))
    for steps in per_channel.values():
        assert [state for state, _ in steps] == ["sending", "sent"] * (ROWS // CHANNELS)
        slots = [at for state, at in steps if state == "sending"]
        assert slots == sorted(slots)
