"""A claiming process for the concurrency test: claims due deliveries until none is planned, "sends" each.

Usage: python claim_worker.py DB_URL ROOT WORKER FROM_OTHER TO_OTHER
It opens the store, prints ``ready`` and waits for ``go`` on stdin (so that both processes start together),
then prints the ids it claimed, one per line. FROM_OTHER and TO_OTHER are the two ends of pipes to the other
worker: a worker writes a byte after its first claim and after each delivery it settles, and reads one when it
has to wait for the other (nothing is waited for by the clock):

- after its first claim, until the other has claimed too: so both processes claim, by construction;
- when nothing is left to claim but planned deliveries remain: the other holds their channels, and wakes
  this one when it settles a delivery (or ends: the pipe closes).
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.store import DeliveryState, Store

GUARD = 60.0
"""Seconds without a word from the other worker before giving up: a guard against a hang, never a wait."""


@dataclass(frozen=True)
class NoopReceipt:
    """What a no-op sender answers (shaped like scheduler.adapters.base.Receipt)."""

    remote_ids: tuple[str, ...]
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Other:
    """The pipes to and from the other worker."""

    def __init__(self, worker: str, reading: int, writing: int) -> None:
        self.worker = worker
        self.reading = reading
        self.writing = writing
        self.gone = False

    def tell(self) -> None:
        """Say: I claimed, or I settled one."""
        with contextlib.suppress(BrokenPipeError):  # the other has ended: nobody is waiting
            os.write(self.writing, b".")

    def wait(self) -> None:
        """Until the other says something (or ends)."""
        if self.gone:
            raise SystemExit(f"{self.worker}: planned deliveries are left, and the other worker has ended")
        readable, _, _ = select.select([self.reading], [], [], GUARD)
        if not readable:
            raise SystemExit(f"{self.worker}: no word from the other worker in {GUARD:g} s")
        self.gone = os.read(self.reading, 1) == b""


def main(db_url: str, root: str, worker: str, from_other: str, to_other: str) -> None:
    other = Other(worker, int(from_other), int(to_other))
    claimed: list[str] = []
    with Store.open(db_url, root=Path(root)) as store:
        print("ready", flush=True)
        if sys.stdin.readline() != "go\n":
            raise SystemExit(f"{worker}: expected go on stdin")
        first = True
        while True:
            batch = store.claim_due(datetime.now(UTC), worker=worker, lease=timedelta(minutes=1), limit=3)
            if batch and first:
                first = False
                other.tell()
                other.wait()  # the other claims too (8 channels: 3 are held here, 5 are left for it)
            for delivery in batch:
                claimed.append(delivery.id)
                time.sleep(0.001)  # the network call's duration: it delays, it decides nothing
                store.mark_sent(delivery.id, NoopReceipt((f"remote-{delivery.id}",)), now=datetime.now(UTC))
                other.tell()
            if not batch:
                if not store.list(states=[DeliveryState.PLANNED], limit=1):
                    break
                other.wait()  # the other process holds the channels that are left
    print("\n".join(claimed), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:6])
