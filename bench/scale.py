"""Benchmark: deliveries per second of ``tagcast serve`` workers on PostgreSQL (1, 2, 4 workers) and on SQLite
(1 worker), to a local no-delay webhook receiver; printed side by side as ratios to the SQLite 1-worker run.

    python bench/scale.py [--deliveries 2000] [--channels 24] [--workers 1,2,4]

Each run: a fresh outbox (a new PostgreSQL database on a throw-away cluster with PostgreSQL's default
durability, fsync on; or a new SQLite file, WAL, ``synchronous = FULL``), ``--deliveries`` deliveries due now
over ``--channels`` webhook channels, every channel paused while the workers start (real ``tagcast serve``
processes, ``service.concurrency`` = 4 each). Then every pause is set to end at one moment T, two seconds
ahead: all workers wake at T (their clock is armed at the end of the pause). The rate is deliveries / (time
of the last ``sent`` - T), from the outbox's own timestamps. The receiver is an asyncio HTTP server in its own
process that dedupes by ``Idempotency-Key``; each run checks that it accepted every delivery exactly once.

Needs the PostgreSQL server binaries (see ``tests/pg.py``) and psycopg; as root the cluster runs as the
``postgres`` (or ``nobody``) user.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# bench/queue.py would shadow the standard library's queue module (psycopg needs it): bench/ off the path
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO / "bench"]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from pg import PostgresServer, start_server  # noqa: E402
from postgres.cluster_support import fill, workspace  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from scheduler.store import DeliveryState, Store  # noqa: E402
from scheduler.store.schema import deliveries  # noqa: E402

SERVICE = {"lease": "30s", "watch_interval": "1s", "concurrency": "4", "misfire_grace": "1h"}
LEAD = timedelta(seconds=2)
TIMEOUT = 180.0


# --- the receiver: asyncio, keep-alive, dedupe by Idempotency-Key ------------------------------------------


async def _serve_hooks(port_pipe: Any) -> None:
    accepted: set[str] = set()
    stats = {"accepted": 0, "duplicates": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                length = int(headers.get("content-length", "0"))
                if length:
                    await reader.readexactly(length)
                if method == "GET" and path == "/stats":
                    body = json.dumps(stats).encode()
                else:
                    key = headers.get("idempotency-key", "")
                    if key in accepted:
                        stats["duplicates"] += 1
                    else:
                        accepted.add(key)
                        stats["accepted"] += 1
                    body = json.dumps({"id": key[-12:]}).encode()
                status = "200 OK" if method == "GET" else "201 Created"
                head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
                writer.write(head.encode() + b"\r\n\r\n" + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port_pipe.send(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _receiver_main(port_pipe: Any) -> None:
    asyncio.run(_serve_hooks(port_pipe))


def receiver_stats(port: int) -> dict[str, int]:
    import httpx

    data: dict[str, int] = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=10).json()
    return data


# --- one run -----------------------------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    workers: int
    rate: float
    accepted: int
    duplicates: int


def _sent(store: Store) -> tuple[int, datetime | None]:
    with store.engine.connect() as connection:
        count, last = connection.execute(
            select(func.count(), func.max(deliveries.c.updated_at)).where(
                deliveries.c.state == DeliveryState.SENT.value
            )
        ).one()
    if isinstance(last, str):  # SQLite aggregates come back as text
        last = datetime.fromisoformat(last).replace(tzinfo=UTC)
    return int(count), last


def _wait_ready(logs: list[Path], processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all("ready: worker" in log.read_text(errors="replace") for log in logs):
            return
        if any(p.poll() is not None for p in processes):
            break
        time.sleep(0.05)
    raise SystemExit("workers did not start:\n" + "\n".join(log.read_text(errors="replace") for log in logs))


def run_once(label: str, url: str, root: Path, *, workers: int, count: int, channels: int, port: int) -> Run:
    hook = f"http://127.0.0.1:{port}/hooks/tagcast"
    workspace(root, store_url=url, hook_url=hook, channels=channels, service=SERVICE)
    names = [f"w{n:02}" for n in range(channels)]
    before = receiver_stats(port)
    with Store.open(url, root=root) as store:
        for name in names:
            store.pause_channel(name, until=None, reason="bench: held until every worker is ready")
        fill(store, count, channels, now=datetime.now(UTC))
        logs = [root / f"worker{n}.log" for n in range(workers)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "scheduler", "serve", "--config", str(root)],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log.open("wb"),
            )
            for log in logs
        ]
        try:
            _wait_ready(logs, processes)
            start = datetime.now(UTC) + LEAD
            for name in names:
                store.pause_channel(name, until=start, reason="bench: starts at T")
            deadline = time.monotonic() + TIMEOUT
            sent, last = _sent(store)
            while sent < count:
                if time.monotonic() > deadline:
                    tails = "\n".join(
                        f"--- {log}:\n{log.read_text(errors='replace')[-4000:]}" for log in logs
                    )
                    raise SystemExit(f"{label} x{workers}: only {sent}/{count} sent in {TIMEOUT}s\n{tails}")
                time.sleep(0.2)
                sent, last = _sent(store)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(timeout=60)
    assert last is not None
    after = receiver_stats(port)
    accepted = after["accepted"] - before["accepted"]
    duplicates = after["duplicates"] - before["duplicates"]
    if accepted != count:
        raise SystemExit(f"{label}: the receiver accepted {accepted} deliveries, expected {count}")
    return Run(label, workers, count / (last - start).total_seconds(), accepted, duplicates)


# --- report ------------------------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def report(runs: list[Run], baseline: Run, args: argparse.Namespace, server: PostgresServer) -> None:
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    print(f"machine: {os.cpu_count()} CPUs ({cpu_model()}), {system}")
    version = subprocess.run(
        [str(server.bindir / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    print(f"PostgreSQL: {version.stdout.strip()} (fsync on); SQLite: WAL, synchronous = FULL")
    print(f"{args.deliveries} deliveries over {args.channels} channels, service.concurrency = 4 per worker\n")
    print(f"{'store':<12} {'workers':>7} {'deliveries/s':>13} {'ratio':>7} {'duplicates':>11}")
    for run in runs:
        ratio = run.rate / baseline.rate
        print(f"{run.label:<12} {run.workers:>7} {run.rate:>13.1f} {ratio:>7.2f} {run.duplicates:>11}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--channels", type=int, default=24)
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts, comma-separated")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]

    parent, child = multiprocessing.Pipe()
    receiver = multiprocessing.Process(target=_receiver_main, args=(child,), daemon=True)
    receiver.start()
    port = int(parent.recv())
    server = start_server(durable=True)
    folder = Path(tempfile.mkdtemp(prefix="tagcast-bench-"))
    try:
        runs = [
            run_once(
                "sqlite", f"sqlite:///{folder / 'sqlite' / 'tagcast.db'}", folder / "sqlite",
                workers=1, count=args.deliveries, channels=args.channels, port=port,
            )
        ]  # fmt: skip
        for workers in counts:
            url = server.url(server.create_database("bench"))
            root = folder / f"pg{workers}"
            runs.append(
                run_once(
                    "postgresql", url, root,
                    workers=workers, count=args.deliveries, channels=args.channels, port=port,
                )
            )  # fmt: skip
        report(runs, runs[0], args, server)
    finally:
        server.remove()
        shutil.rmtree(folder, ignore_errors=True)
        receiver.terminate()


if __name__ == "__main__":
    main()
