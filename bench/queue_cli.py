"""Benchmark: the CPU time of one ``tagcast queue`` command, against starting Python at all.

    python bench/queue_cli.py [--rows 10000] [--repeat 7] [--concurrent 20]

Writes a workspace whose outbox holds ``--rows`` deliveries on four file channels (bulk-inserted with
SQLAlchemy Core, in this benchmark only; each with its "queued" transition, a few hundred failed ones for
``queue retry``), then runs each queue command an operator types as a child process (``python -m
scheduler``, what the ``tagcast`` script runs), each ``--repeat`` times, and measures the CPU time (user +
system) of each run with ``resource.getrusage(RUSAGE_CHILDREN)`` around it:

    queue list, queue list --json, queue show ID, queue reschedule ID --at ..., queue cancel ID,
    queue retry ID

The baselines run the same way in the same rounds: ``python -c pass`` (starting Python) and ``python -c
"import sqlite3"`` (Python that can open the file). The rounds interleave all of them, so that a noisy
moment of the shared machine hits them all. Prints per command the median and the least CPU seconds and the
ratios of the median to both baselines. The goal of issue 12 is < 0.2 s of CPU per command.

Then (``--concurrent N``, default 20) it starts ``tagcast serve`` on the workspace (posts due now keep it
busy), and N queue commands at once (list, list --json, show, reschedule, in turn) while it runs, and
prints the median and the longest wall time of one: what N operators, or a script in a loop, see.

Children run with bytecode caching on (a warm-up run writes ``__pycache__``, as an installed package ships
it): ``PYTHONDONTWRITEBYTECODE`` in the environment would make every run compile tagcast's modules again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
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
FAILED_EVERY = 20
"""Every 20th delivery failed (for ``queue retry``): 500 of 10000."""
DUE_NOW = 200
"""Deliveries due when the benchmark starts: ``tagcast serve`` has work while the commands run."""
TAGCAST = [sys.executable, "-m", "scheduler"]


def _row(index: int, *, first: datetime, now: datetime) -> dict[str, Any]:
    text = f"Generated post {index}: a short summary of something that happened. #History"
    failed = index % FAILED_EVERY == 0
    at = now - timedelta(seconds=index) if index < DUE_NOW else first + timedelta(minutes=5 * index)
    return {
        "id": f"d_{index:010x}",
        "source": f"posts/bench-{index}.md",
        "channel": CHANNELS[index % len(CHANNELS)],
        "generation": 1,
        "identity": f"bench-{index}",
        "network": "file",
        "rule": "default",
        "template": "default.j2",
        "parts": [text],
        "lengths": [len(text)],
        "limit": 500,
        "unit": "graphemes",
        "content_hash": f"{index:064x}",
        "article": {"source": f"posts/bench-{index}.md", "title": f"Post {index}", "body": text},
        "state": "failed" if failed else "planned",
        "scheduled_at": at,
        "zone": "Europe/Berlin",
        "due_at": None if failed else at,
        "idempotency_key": f"bench-{index:010d}",
        "attempts": 3 if failed else 0,
        "next_attempt_at": None,
        "journal": {},
        "remote_ids": [],
        "remote_url": None,
        "receipt": {},
        "last_error": "HTTP 400: the server refused the post" if failed else None,
        "claimed_by": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
    }


def write_workspace(root: Path, rows: int) -> tuple[list[str], list[str]]:
    """A workspace with ``rows`` deliveries on four file channels: the ids of the planned and failed ones."""
    from scheduler.store import Store
    from scheduler.store.schema import deliveries, transitions

    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    lines = ["[store]", f'url = "{STORE_URL}"', "[defaults]", f"channels = {json.dumps(list(CHANNELS))}"]
    for name in CHANNELS:
        lines += [f"[channels.{name}]", 'network = "file"']
    (root / "config" / "tagcast.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    now = datetime.now(UTC)
    batch = [_row(index, first=now + timedelta(days=1), now=now) for index in range(rows)]
    history = [
        {"delivery_id": row["id"], "at": now, "from_state": None, "to_state": "planned", "reason": "queued"}
        for row in batch
    ] + [
        {"delivery_id": row["id"], "at": now, "from_state": "sending", "to_state": "failed", "reason": "400"}
        for row in batch
        if row["state"] == "failed"
    ]
    with Store.open(STORE_URL, root=root) as store, store.engine.begin() as connection:
        connection.execute(deliveries.insert(), batch)
        connection.execute(transitions.insert(), history)
    planned = [row["id"] for row in batch[DUE_NOW:] if row["state"] == "planned"]
    failed = [row["id"] for row in batch if row["state"] == "failed"]
    return planned, failed


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


BASELINES = ("python -c pass", 'python -c "import sqlite3"')


def commands(planned: list[str], failed: list[str], round_: int) -> dict[str, list[str]]:
    """The commands of one round; each round acts on other deliveries (a cancelled one stays cancelled)."""
    at = (datetime(2030, 1, 1, 9, 0) + timedelta(minutes=round_)).isoformat(timespec="minutes")
    pick = planned[(round_ * 7919) % len(planned)]
    return {
        BASELINES[0]: [sys.executable, "-c", "pass"],
        BASELINES[1]: [sys.executable, "-c", "import sqlite3"],
        "tagcast queue list": [*TAGCAST, "queue", "list"],
        "tagcast queue list --json": [*TAGCAST, "queue", "list", "--json"],
        "tagcast queue show ID": [*TAGCAST, "queue", "show", planned[len(planned) // 2]],
        "tagcast queue reschedule ID --at ...": [*TAGCAST, "queue", "reschedule", pick, "--at", at],
        "tagcast queue cancel ID": [*TAGCAST, "queue", "cancel", planned[-1 - round_]],
        "tagcast queue retry ID": [*TAGCAST, "queue", "retry", failed[round_]],
    }


def concurrent_commands(root: Path, planned: list[str], count: int) -> list[float]:
    """Start ``count`` queue commands at once; the wall seconds of each, sorted."""
    shapes = [
        ["queue", "list"],
        ["queue", "list", "--json"],
        ["queue", "show", planned[0]],
        ["queue", "reschedule", planned[1], "--at", "2031-01-01T09:00"],
    ]
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [*TAGCAST, *shapes[index % len(shapes)]],
            cwd=root,
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for index in range(count)
    ]
    walls: list[float] = []
    pending = dict(enumerate(children))
    while pending:
        for index, child in list(pending.items()):
            if child.poll() is not None:
                walls.append(time.perf_counter() - started)
                _, err = child.communicate()
                if child.returncode != 0:
                    raise SystemExit(f"a queue command failed ({child.returncode}):\n{err.decode()}")
                del pending[index]
        time.sleep(0.005)
    return sorted(walls)


def under_serve(root: Path, planned: list[str], count: int) -> list[float]:
    """:func:`concurrent_commands` while ``tagcast serve`` runs on the workspace."""
    log = root / "serve.log"
    with log.open("wb") as sink:
        serve = subprocess.Popen([*TAGCAST, "serve"], cwd=root, env=child_env(), stderr=sink)
        try:
            deadline = time.monotonic() + 60
            while "ready: worker" not in log.read_text(errors="replace"):
                if serve.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"tagcast serve did not start:\n{log.read_text(errors='replace')}")
                time.sleep(0.05)
            return concurrent_commands(root, planned, count)
        finally:
            serve.send_signal(signal.SIGTERM)
            serve.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tagcast-bench-") as folder:
        root = Path(folder) / "ws"
        planned, failed = write_workspace(root, args.rows)
        print(f"{args.rows} deliveries ({len(failed)} failed) in {root / 'var' / 'tagcast.db'}")
        for command in commands(planned, failed, 0).values():  # warm-up: bytecode caches, the page cache
            cpu_seconds(command, root)
        samples: dict[str, list[float]] = {}
        for round_ in range(1, args.repeat + 1):
            for name, command in commands(planned, failed, round_).items():
                samples.setdefault(name, []).append(cpu_seconds(command, root))
        python, sqlite = (statistics.median(samples[name]) for name in BASELINES)
        print(f"CPU seconds per run, {args.repeat} runs each (goal: < 0.2 s for a queue command)")
        print(f"{'command':<40} {'median':>8} {'least':>8} {'x pass':>8} {'x sqlite3':>10}")
        for name, values in samples.items():
            median = statistics.median(values)
            ratios = f"{median / python:8.1f} {median / sqlite:10.1f}"
            print(f"{name:<40} {median:8.3f} {min(values):8.3f} {ratios}")
        if args.concurrent:
            walls = under_serve(root, planned, args.concurrent)
            print(
                f"{args.concurrent} queue commands at once while `tagcast serve` runs: wall time of one "
                f"median {statistics.median(walls):.2f} s, longest {walls[-1]:.2f} s"
            )


if __name__ == "__main__":
    main()
