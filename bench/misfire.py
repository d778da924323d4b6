"""Benchmark: ``tagcast serve`` start-up after downtime, with thousands of late posts, against an empty queue.

    python bench/misfire.py [--late 5000] [--channels 10] [--rounds 3]

A SQLite outbox holds ``--late`` planned deliveries over ``--channels`` file channels whose slots passed
while the service was down: half of them late by 15-20 minutes (within ``service.misfire_grace`` = 30m: they
go out late), half by one to six hours (beyond it: each moves to its channel's next free slot). Each round
starts ``tagcast serve --exit-after-start`` (a child process) on a fresh copy of that outbox and on an empty
one, in turns (the machine is shared and noisy), and times launch to the "ready" line. Prints both, their
ratio, and the median ratio of the rounds; then checks that every late post was handled exactly once (one
"during downtime" transition each).

The rows are bulk-inserted (the shortcut of ``bench/queue.py``, not an API). The start-up is timed from the
outside, so it includes the interpreter, imports, the config and the outbox's opening, in both cases.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sqlite3
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_queue", HERE / "queue.py")
assert _spec is not None and _spec.loader is not None
bench_queue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_queue)  # its workspace, bulk rows and start-up timer (not named ``queue``)

WITHIN = (timedelta(minutes=20), timedelta(minutes=15))
"""Late posts within the grace are spread over this span before the start (a start of over 10 minutes would
push the oldest beyond the 30 minute grace; the check at the end would say so)."""
BEYOND = (timedelta(hours=6), timedelta(hours=1))


def late_rows(count: int, channels: Sequence[str], now: datetime) -> Iterator[dict[str, Any]]:
    """``count`` planned rows whose slots passed: even ones within the grace, odd ones beyond it."""
    for index, row in enumerate(bench_queue.bulk_rows(count, channels, "file", now, timedelta(0))):
        oldest, newest = WITHIN if index % 2 == 0 else BEYOND
        at = now - oldest + (oldest - newest) * index / max(count - 1, 1)
        row.update(scheduled_at=at, due_at=at)
        yield row


def handled(root: Path) -> tuple[int, int, int]:
    """(posts moved, posts going out late, deliveries with more than one "during downtime" transition)."""
    with sqlite3.connect(root / "var" / "tagcast.db") as db:
        rows = db.execute(
            "SELECT delivery_id, reason FROM transitions WHERE reason LIKE '%during downtime%'"
        ).fetchall()
    seen: dict[str, int] = {}
    for delivery_id, _ in rows:
        seen[delivery_id] = seen.get(delivery_id, 0) + 1
    moved = sum(1 for _, reason in rows if "moved to the next free slot" in reason)
    late = sum(1 for _, reason in rows if reason.endswith("goes out late"))
    return moved, late, sum(1 for n in seen.values() if n > 1)


def main(argv: Sequence[str] | None = None) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--late", type=int, default=5000)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    channels = [f"c{n}" for n in range(args.channels)]
    config = {name: {"network": "file"} for name in channels}
    tmp = Path(tempfile.mkdtemp(prefix="tagcast-misfire-"))
    try:
        print(f"tagcast serve --exit-after-start: launch to ready, {args.late:,} late posts vs none")
        print(f"  {'round':<7} {'empty s':>9} {'late s':>9} {'ratio':>7}   handled")
        ratios = []
        for number in range(1, args.rounds + 1):
            empty, full = tmp / f"empty{number}", tmp / f"full{number}"
            for root in (empty, full):
                bench_queue.write_workspace(root, config, {"misfire_grace": "30m"})
            bench_queue.bulk_insert(empty, iter(()))
            bench_queue.bulk_insert(full, late_rows(args.late, channels, datetime.now(UTC)))
            order = [empty, full] if number % 2 else [full, empty]
            times = {root: bench_queue.start_up(root)["ready"] for root in order}
            moved, late, twice = handled(full)
            ratio = times[full] / times[empty]
            ratios.append(ratio)
            print(
                f"  {number:<7} {times[empty]:>9.2f} {times[full]:>9.2f} {ratio:>7.2f}   "
                f"{moved:,} moved, {late:,} late, {twice} twice"
            )
            if moved + late != args.late or twice:
                raise SystemExit(f"round {number}: not every late post was handled exactly once")
            shutil.rmtree(empty)
            shutil.rmtree(full)
        print(f"  median ratio {statistics.median(ratios):.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
