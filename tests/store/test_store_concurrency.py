"""Two processes claim from one outbox at once (one SQLite file, or one PostgreSQL database): every delivery
is claimed and sent exactly once, and a channel never has two deliveries in flight."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
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
    claims = run_two_workers(db_url, tmp_path)

    assert all(claims), "both processes claim some rows (each waits for the other's first claim)"
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


def run_two_workers(db_url: str, tmp_path: Path) -> list[list[str]]:
    """Start two claim workers, let them go together once both have opened the store, and return the ids
    each claimed. They talk through two pipes (see ``claim_worker.py``); nothing here waits on the clock."""
    repo = Path(__file__).resolve().parents[2]
    one_to_two, two_to_one = os.pipe(), os.pipe()  # (read end, write end)
    ends = {1: (two_to_one[0], one_to_two[1]), 2: (one_to_two[0], two_to_one[1])}
    logs = [tmp_path / f"w{n}.err" for n in (1, 2)]
    with contextlib.ExitStack() as stack:
        processes: list[subprocess.Popen[str]] = []
        try:
            for n, log in zip((1, 2), logs, strict=True):
                processes.append(
                    subprocess.Popen(
                        [sys.executable, str(WORKER), db_url, str(tmp_path), f"w{n}", *map(str, ends[n])],
                        cwd=repo,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=stack.enter_context(log.open("w")),
                        pass_fds=ends[n],
                        text=True,
                    )
                )
        finally:
            for end in (*one_to_two, *two_to_one):
                os.close(end)  # each pipe is now between the two workers only: it closes when its writer ends
        try:
            for process, log in zip(processes, logs, strict=True):
                assert process.stdout is not None
                ready = process.stdout.readline()  # it has opened the store
                assert ready == "ready\n", (ready, log.read_text())
            for process in processes:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.close()
            claims = []
            for process, log in zip(processes, logs, strict=True):
                assert process.stdout is not None
                claims.append(process.stdout.read().split())
                assert process.wait() == 0, log.read_text()
            return claims
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                process.wait()
                for stream in (process.stdin, process.stdout):
                    if stream is not None:
                        stream.close()
