"""Benchmark: the CPU time of one ``tagcast queue`` command, against starting Python at all.

    python bench/queue_cli.py [--rows 10000] [--repeat 7] [--concurrent 0]

Writes a workspace with ``--rows`` planned deliveries (bulk-inserted with SQLAlchemy Core, in this benchmark
only), then runs ``tagcast queue list``, ``queue show ID`` and ``queue reschedule ID --at ...`` as child
processes (``python -m scheduler``), each ``--repeat`` times, and measures the CPU time (user + system) of
each run with ``resource.getrusage(RUSAGE_CHILDREN)`` around it. The baseline is ``python -c pass`` started
the same way, in the same rounds (the rounds interleave the commands, so that a noisy moment of the shared
machine hits them all). Prints per command the median and the least CPU seconds and the ratio of the median to
the baseline's median. The goal of issue 12 is < 0.2 s of CPU per command.

Children run with bytecode caching on (a warm-up run writes ``__pycache__``, as an installed package ships
it): ``PYTHONDONTWRITEBYTECODE`` in the environment would make every run compile tagcast's modules again.

``--concurrent N`` also starts N ``queue list`` at once and prints the median wall time of one (what 20
operators, or a script in a loop, see on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STORE_URL = "sqlite:///var/tagcast.db"
CHANNELS = ("c0", "c1", "c2", "c3")


def write_workspace(root: Path, rows: int) -> list[str]:
    """A workspace with ``rows`` planned deliveries on four file channels; their ids."""
    from scheduler.store import Store
    from scheduler.store.models import content_hash
    from scheduler.store.schema import deliveries

    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    lines = ["[store]", f'url = "{STORE_URL}"', "[defaults]", f"channels = {json.dumps(list(CHANNELS))}"]
    for name in CHANNELS:
        lines += [f"[channels.{name}]", 'network = "file"']
    (root / "config" / "tagcast.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = datetime.now(UTC) + timedelta(days=1)
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for index in range(rows):
        text = f"Generated post {index}: a short summary of something that happened. #History"
        at = first + timedelta(minutes=5 * index)
        batch.append(
            {
                "id": f"d_{index:010x}",
                "source": f"posts/bench-{index}.md",
                "channel": CHANNELS[index % len(CHANNELS)],
                "generation": 1,
                "network": "file",
                "rule": "default",
                "template": "default.j2",
                "parts": [text],
                "lengths": [len(text)],
                "limit": 500,
                "unit": "graphemes",
                "content_hash": content_hash([text]),
                "article": {"source": f"posts/bench-{index}.md", "title": f"Post {index}", "body": text},
                "state": "planned",
                "scheduled_at": at,
                "zone": "UTC",
                "due_at": at,
                "idempotency_key": f"bench-{index:010d}",
                "attempts": 0,
                "next_attempt_at": None,
                "journal": {},
                "remote_ids": [],
                "remote_url": None,
                "receipt": {},
                "last_error": None,
                "claimed_by": None,
                "lease_until": None,
                "created_at": now,
                "updated_at": now,
            }
        )
    with Store.open(STORE_URL, root=root) as store, store.engine.begin() as connection:
        connection.execute(deliveries.insert(), batch)
    return [row["id"] for row in batch]


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return {**env, "COLUMNS": "160"}


def cpu_seconds(command: Sequence[str], cwd: Path) -> float:
    """User + system CPU seconds of one child process running ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=cwd, env=child_env(), capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def commands(ids: list[str], round_: int) -> dict[str, list[str]]:
    tagcast = [sys.executable, "-m", "scheduler"]
    moved = ids[(round_ * 7919) % len(ids)]
    at = (datetime(2030, 1, 1, 9, 0) + timedelta(minutes=round_)).isoformat(timespec="minutes")
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "tagcast queue list": [*tagcast, "queue", "list"],
        "tagcast queue show ID": [*tagcast, "queue", "show", ids[len(ids) // 2]],
        "tagcast queue reschedule ID --at ...": [*tagcast, "queue", "reschedule", moved, "--at", at],
    }


def concurrent_lists(root: Path, count: int) -> float:
    """Start ``count`` ``queue list`` at once; the median wall seconds of one."""
    command = [sys.executable, "-m", "scheduler", "queue", "list"]
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            command, cwd=root, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(count)
    ]
    ended: list[float] = []
    for child in children:
        child.wait()
        ended.append(time.perf_counter() - started)
    return statistics.median(ended)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--concurrent", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tagcast-bench-") as folder:
        root = Path(folder) / "ws"
        ids = write_workspace(root, args.rows)
        print(f"{args.rows} planned deliveries in {root / 'var' / 'tagcast.db'}")
        for command in commands(ids, 0).values():  # warm-up: bytecode caches, the file in the page cache
            cpu_seconds(command, root)
        samples: dict[str, list[float]] = {}
        for round_ in range(1, args.repeat + 1):
            for name, command in commands(ids, round_).items():
                samples.setdefault(name, []).append(cpu_seconds(command, root))
        baseline = statistics.median(samples["python -c pass"])
        print(f"CPU seconds per run, {args.repeat} runs each (goal: < 0.2 s for a queue command)")
        print(f"{'command':<40} {'median':>8} {'least':>8} {'x baseline':>11}")
        for name, values in samples.items():
            median = statistics.median(values)
            print(f"{name:<40} {median:8.3f} {min(values):8.3f} {median / baseline:11.1f}")
        if args.concurrent:
            wall = concurrent_lists(root, args.concurrent)
            print(f"{args.concurrent} concurrent `tagcast queue list`: median wall time {wall:.2f} s each")


if __name__ == "__main__":
    main()
