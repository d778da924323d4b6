"""A claiming process for the concurrency test: claims due deliveries until none is planned, "sends" each.

Usage: python claim_worker.py DB_URL ROOT WORKER START_FILE OUT_FILE
It opens the store, creates OUT_FILE (empty) to say it is ready, waits for START_FILE to exist (so that both
processes start together), then writes the ids it claimed to OUT_FILE, one per line. "Sending" takes a
millisecond outside any transaction, as a network call would.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.store import DeliveryState, Store


@dataclass(frozen=True)
class NoopReceipt:
    """What a no-op sender answers (shaped like scheduler.adapters.base.Receipt)."""

    remote_ids: tuple[str, ...]
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def main(db_url: str, root: str, worker: str, start_file: str, out_file: str) -> None:
    start, out = Path(start_file), Path(out_file)
    claimed: list[str] = []
    with Store.open(db_url, root=Path(root)) as store:
        out.touch()
        deadline = time.monotonic() + 60
        while not start.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"{worker}: {start} never appeared")
            time.sleep(0.001)
        while True:
            batch = store.claim_due(datetime.now(UTC), worker=worker, lease=timedelta(minutes=1), limit=3)
            for delivery in batch:
                claimed.append(delivery.id)
                time.sleep(0.001)
                store.mark_sent(delivery.id, NoopReceipt((f"remote-{delivery.id}",)), now=datetime.now(UTC))
            if not batch:
                if not store.list(states=[DeliveryState.PLANNED], limit=1):
                    break
                time.sleep(0.001)  # the other process holds the channels that are left
    out.write_text("\n".join(claimed) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:6])
