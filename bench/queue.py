"""Benchmark: the outbox at scale and the dispatcher against a raw HTTP loop, in the same run.

    python bench/queue.py [--rows 1000000] [--posts 1000] [--channels 8] [--concurrency 4] [--rounds 5]
                          [--spread-posts 600] [--spread-channels 20] [--spread-seconds 60] [--busy N]
                          [--event-loop auto|uvloop|asyncio]

(a) ``--rows`` planned deliveries in a SQLite outbox (bulk-inserted with SQLAlchemy Core, in this benchmark
    only). Times the first page of ``tagcast queue list`` through the Store API the CLI uses, and the
    service's start-up (``tagcast serve --exit-after-start``, a child process: launch to its "ready" line,
    and to its exit) with its peak resident memory, next to the same start-up on an empty outbox: the
    service must not load the queue into memory.
(b) ``--posts`` deliveries due at one instant, over ``--channels`` webhook channels, to a local receiver (the
    webhook fake of the tests, no delay). ``tagcast serve`` runs as a child process and is woken by its clock.
    Lateness is each request's arrival at the receiver minus the due instant. CPU per post: the service's
    user + system seconds (every thread, from ``/proc``) between its first and its last delivery, and the raw
    loop's process time, each divided by the posts sent; their ratio moves far less with the machine's other
    load than the throughput ratio does. The baseline is a child process
    running a bare ``httpx.AsyncClient`` loop that sends the same requests (same bodies and headers) with the
    same concurrency to a fresh receiver, on the same event loop as the service (``--event-loop``, which
    sets ``[service] event_loop``: uvloop when installed, by default), so that the ratio is tagcast's own
    cost and not the loop's. Prints both throughputs and their ratio (goal: >= 0.5), for
    ``--rounds`` rounds in which the two take turns to go first (the machine is shared and noisy: one round
    says little), and the median ratio.
(c) ``--spread-posts`` deliveries due at random instants over ``--spread-seconds``, across
    ``--spread-channels`` webhook channels, sent by ``tagcast serve`` (started before the first is due) to a
    local receiver: what a user's queue looks like. Lateness is each post's arrival at the receiver minus
    its own due instant; prints p50, p99 and max (goals: p50 < 10 ms, p99 < 50 ms). ``--busy N`` runs N
    child processes, each a plain Python busy loop, for the whole case (from before ``serve`` starts to its
    end): the lateness under a heavy load, shown on demand. Beside the result it prints the load seen from
    the first due instant to the end: the 1-minute load average (lowest, highest, last; it follows a step
    of load within about a minute) and the mean number of runnable tasks (``/proc/loadavg``, sampled every
    0.2 s); and how long before that instant ``serve`` was ready (beside busy loops it is started 30 s
    ahead, not 8; if it was still late, the posts due once it was ready are also shown apart).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's ``queue`` module, which asyncio and concurrent.futures
# import: run as a script, its own folder must not shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from scheduler.service.event_loop import loop_factory, running_loop_name  # noqa: E402

TAGCAST = [sys.executable, "-m", "scheduler"]
LEAD = 8.0
"""Seconds between the start of ``tagcast serve`` and the first due instant: its start-up (a few seconds on
a busy machine) is not part of what is measured."""
STORE_URL = "sqlite:///var/tagcast.db"


@dataclass
class Options:
    event_loop: str = "auto"
    """``[service] event_loop`` of every workspace this benchmark writes, and the raw loop's too."""


OPTIONS = Options()
"""Set from the command line (``--event-loop``)."""


# --- workspaces and bulk rows ---------------------------------------------------------------------------


def write_workspace(root: Path, channels: dict[str, dict[str, Any]], service: dict[str, Any]) -> None:
    service = {"event_loop": OPTIONS.event_loop, **service}
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    lines = [
        "[store]",
        f'url = "{STORE_URL}"',
        "[defaults]",
        f"channels = {json.dumps(sorted(channels))}",
        "[service]",
        *(f"{key} = {json.dumps(value)}" for key, value in service.items()),
    ]
    for name, keys in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    (root / "config" / "tagcast.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def bulk_rows(
    count: int, channels: Sequence[str], network: str, first: datetime, step: timedelta
) -> Iterator[dict[str, Any]]:
    """``count`` planned delivery rows, round-robin over ``channels``, due from ``first`` every ``step``."""
    from scheduler.store.models import content_hash

    for index in range(count):
        text = f"Generated post {index}: a short summary of something that happened. #History"
        at = first + step * index
        yield {
            "id": f"d_{index:010x}",
            "source": f"posts/bench-{index}.md",
            "channel": channels[index % len(channels)],
            "generation": 1,
            "identity": f"url:https://example.org/{index}",
            "network": network,
            "rule": "default",
            "template": "default.j2",
            "parts": [text],
            "lengths": [len(text)],
            "limit": 500,
            "unit": "graphemes",
            "content_hash": content_hash([text]),
            "article": {
                "source": f"posts/bench-{index}.md",
                "title": f"Generated post {index}",
                "body": text,
                "url": f"https://example.org/{index}",
                "hashtags": ["History"],
                "extra": {},
            },
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
            "created_at": datetime.now(UTC),
            "updated_at": datetime.now(UTC),
        }


def bulk_insert(root: Path, rows: Iterator[dict[str, Any]], *, chunk: int = 20_000) -> int:
    """Insert ``rows`` with executemany in one transaction (the benchmark's shortcut, not an API)."""
    from scheduler.store import Store
    from scheduler.store.schema import deliveries

    count = 0
    with Store.open(STORE_URL, root=root) as store, store.engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) == chunk:
                connection.execute(deliveries.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(deliveries.insert(), batch)
            count += len(batch)
    return count


def move_all(root: Path, due: datetime) -> datetime:
    """Make every delivery due at ``due`` (a bulk UPDATE: the benchmark's shortcut, not an API)."""
    from scheduler.store import Store
    from scheduler.store.schema import deliveries

    with Store.open(STORE_URL, root=root) as store, store.engine.begin() as connection:
        connection.execute(deliveries.update().values(scheduled_at=due, due_at=due))
    return due


# --- child processes ------------------------------------------------------------------------------------


LAUNCHER = """
import os, sys
command = [sys.executable, "-m", "scheduler", "serve", "--exit-after-start"]
pid = os.posix_spawn(sys.executable, command, os.environ)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Starts the service and reports its peak RSS (KiB) and exit code. A child's ``ru_maxrss`` includes the
memory of the process it was spawned from (the mm it ran on before ``exec``), so it is spawned from this
small launcher, not from the benchmark process with its million rows."""


def start_up(root: Path) -> dict[str, float]:
    """``tagcast serve --exit-after-start``: seconds to the "ready" line and to exit, and peak RSS in MiB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
    started = time.perf_counter()
    launcher = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert launcher.stderr is not None and launcher.stdout is not None
    ready = float("nan")
    for line in launcher.stderr:
        if "ready:" in line and math.isnan(ready):
            ready = time.perf_counter() - started
    rss, code = launcher.stdout.read().split()
    launcher.wait()
    exited = time.perf_counter() - started
    if int(code) != 0:
        raise SystemExit(f"tagcast serve --exit-after-start failed with {code}")
    return {"ready": ready, "exit": exited, "rss": int(rss) / 1024}


def time_list_page(root: Path, deep: int, repeat: int = 30) -> dict[str, float]:
    """Milliseconds for one page of ``queue list`` (what the CLI calls), cold and median of ``repeat``."""
    from scheduler.store import Store

    with Store.open(STORE_URL, root=root) as store:
        out: dict[str, float] = {}
        for name, kwargs in (
            ("all", {}),
            ("state+channel", {"states": ["planned"], "channel": "c3"}),
            ("deep", {"offset": deep}),
        ):
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                page = store.list(limit=50, **kwargs)  # type: ignore[arg-type]
                times.append((time.perf_counter() - began) * 1000)
                assert len(page) == 50
            out[f"{name} cold"] = times[0]
            out[f"{name} median"] = statistics.median(times)
    return out


# --- part (b): the raw client ---------------------------------------------------------------------------


def loop_name() -> str:
    """The loop ``OPTIONS.event_loop`` stands for, as ``serve`` logs it (``uvloop 0.23.0``, ``asyncio``)."""

    async def name() -> str:
        return running_loop_name()

    with asyncio.Runner(loop_factory=loop_factory(OPTIONS.event_loop)) as runner:
        return runner.run(name())


async def raw_client(
    url: str, requests: list[tuple[dict[str, str], str]], concurrency: int
) -> tuple[float, float]:
    """Send every request with ``concurrency`` loops over one AsyncClient; the elapsed and CPU seconds."""
    import httpx

    queue: asyncio.Queue[tuple[dict[str, str], str]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async with httpx.AsyncClient(timeout=30) as client:

        async def loop() -> None:
            while not queue.empty():
                headers, body = queue.get_nowait()
                response = await client.post(url, headers=headers, content=body.encode("utf-8"))
                response.raise_for_status()

        began = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(loop() for _ in range(concurrency)))
        return time.perf_counter() - began, time.process_time() - cpu


def requests_of(root: Path) -> list[tuple[dict[str, str], str]]:
    """The exact requests the webhook adapter sends for the queued deliveries (without a secret)."""
    from scheduler.adapters.base import Outgoing
    from scheduler.adapters.webhook import EVENT_HEADER, delivery_body
    from scheduler.store import Store

    out = []
    with Store.open(STORE_URL, root=root) as store:
        offset = 0
        while page := store.list(limit=500, offset=offset):
            for d in page:
                body = delivery_body(Outgoing(d.id, d.idempotency_key, d.parts, d.to_article(), d.channel))
                headers = {
                    "Content-Type": "application/json",
                    EVENT_HEADER: "delivery",
                    "Idempotency-Key": d.idempotency_key,
                    "X-Tagcast-Delivery": d.id,
                }
                out.append((headers, body.decode("utf-8")))
            offset += len(page)
    return out


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, every thread) a running process has used, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def run_raw(url: str, bodies: Path, concurrency: int, env: dict[str, str]) -> tuple[float, float]:
    """The baseline in its own process, on the service's event loop (``OPTIONS.event_loop``): elapsed and CPU
    seconds to send every request in ``bodies``."""
    raw = subprocess.run(
        [
            sys.executable,
            __file__,
            "--raw-client",
            url,
            "--requests",
            str(bodies),
            "--concurrency",
            str(concurrency),
            "--event-loop",
            OPTIONS.event_loop,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if raw.returncode != 0:
        raise SystemExit(f"the raw client failed:\n{raw.stderr}")
    elapsed, cpu = raw.stdout.split()
    return float(elapsed), float(cpu)


def run_serve(root: Path, fake: Any, posts: int, log_level: str, env: dict[str, str]) -> dict[str, float]:
    """``tagcast serve`` started before the due instant and woken by its clock; lateness and throughput."""
    due = move_all(root, datetime.now(UTC) + timedelta(seconds=LEAD))
    child = subprocess.Popen(
        [*TAGCAST, "serve", "--log-level", log_level],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    first: tuple[int, float] | None = None  # deliveries seen and the service's CPU seconds, at the first look
    while len(fake.deliveries) < posts and time.monotonic() < deadline:
        time.sleep(0.05)
        if first is None and fake.deliveries:
            first = (len(fake.deliveries), cpu_seconds(child.pid))
    spent = cpu_seconds(child.pid)
    child.send_signal(signal.SIGTERM)
    child.wait(60)
    if len(fake.deliveries) < posts:
        raise SystemExit(f"only {len(fake.deliveries)} of {posts} delivered")
    arrivals = sorted(request.at for request in fake.requests)
    lateness = [at - due.timestamp() for at in arrivals]
    return {
        "p50": percentile(lateness, 50),
        "p99": percentile(lateness, 99),
        "max": max(lateness),
        "first": lateness[0],
        "service_rate": posts / (arrivals[-1] - due.timestamp()),
        "service_span_rate": (posts - 1) / (arrivals[-1] - arrivals[0]),
        "service_cpu": (spent - first[1]) / (posts - first[0]) if first and posts > first[0] else math.nan,
    }


def part_b(
    tmp: Path, posts: int, channels: int, concurrency: int, *, log_level: str, serve_first: bool
) -> dict[str, float]:
    """One round: the same deliveries sent by ``tagcast serve`` and by the raw loop, each to a fresh
    receiver, one after the other (``serve_first`` says in which order)."""
    from fakes.webhook import WebhookFake

    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
    with WebhookFake(secret=None).running() as service_fake, WebhookFake(secret=None).running() as raw_fake:
        assert isinstance(service_fake, WebhookFake) and isinstance(raw_fake, WebhookFake)
        root = tmp / f"dispatch-{time.monotonic_ns()}"
        names = [f"h{n}" for n in range(channels)]
        write_workspace(
            root,
            {name: {"network": "webhook", "url": service_fake.url} for name in names},
            {"concurrency": concurrency},
        )
        bulk_insert(root, bulk_rows(posts, names, "webhook", datetime(2100, 1, 1, tzinfo=UTC), timedelta(0)))
        bodies = root / "requests.json"
        bodies.write_text(json.dumps(requests_of(root)), encoding="utf-8")

        result: dict[str, float] = {}
        for side in ("serve", "raw") if serve_first else ("raw", "serve"):
            if side == "raw":
                elapsed, cpu = run_raw(raw_fake.url, bodies, concurrency, env)
                result["raw_rate"] = posts / elapsed
                result["raw_cpu"] = cpu / posts
                assert len(raw_fake.deliveries) == posts
            else:
                result |= run_serve(root, service_fake, posts, log_level, env)
        result["ratio"] = result["service_rate"] / result["raw_rate"]
        return result


# --- part (c): posts due at random instants -------------------------------------------------------------


BUSY_LOOP = "while True:\n    pass\n"
BUSY_LEAD = 30.0
"""The lead of case (c) beside busy loops: on 2 shared cores ``serve`` then took 12 s to start (8 was too
short: the start-up counted as lateness)."""


@contextlib.contextmanager
def burning(count: int) -> Iterator[None]:
    """``count`` child processes, each a plain Python busy loop burning one core, until the block ends."""
    children = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(count)]
    try:
        yield
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()


@dataclass
class LoadSeen:
    """The machine's load, sampled during a run: (wall time, 1-minute load average, runnable tasks)."""

    samples: list[tuple[float, float, int | None]] = field(default_factory=list)

    def sample(self) -> None:
        runnable = None
        # "0.52 0.58 0.59 3/152 12345": the 4th field is runnable/total scheduling entities (Linux only);
        # the sampling process itself is one of the runnable ones
        with contextlib.suppress(OSError, IndexError, ValueError):
            runnable = int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
        self.samples.append((time.time(), os.getloadavg()[0], runnable))

    def line(self, since: float) -> str:
        """The load from ``since`` (the first due instant) to the last sample."""
        window = [sample for sample in self.samples if sample[0] >= since] or self.samples[-1:]
        averages = [average for _, average, _ in window]
        runnable = [count for _, _, count in window if count is not None]
        text = (
            f"load during the sends: 1-min load average {min(averages):.1f}-{max(averages):.1f} "
            f"({averages[-1]:.1f} at the end)"
        )
        if runnable:
            text += f", runnable tasks {statistics.mean(runnable):.1f} on average (/proc/loadavg every 0.2 s)"
        return text + f"; {os.cpu_count()} cores"


@dataclass
class SpreadRun:
    """What case (c) saw: each post's due instant and lateness (seconds, in arrival order), the load, and
    when ``serve`` said it was ready (None: the line was not seen)."""

    due: list[float]
    lateness: list[float]
    load: LoadSeen
    first_due: float
    ready_at: float | None


def part_c(
    tmp: Path, posts: int, channels: int, span: float, *, log_level: str, seed: int, busy: int = 0
) -> SpreadRun:
    """``tagcast serve`` sends ``posts`` deliveries due at random instants over ``span`` seconds, beside
    ``busy`` busy-looping processes (running from before ``serve`` starts to the end); the lateness of each
    (seconds: arrival at the receiver minus its due instant), in arrival order, and the load seen."""
    import random

    from fakes.webhook import WebhookFake

    rng = random.Random(seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAGCAST_")}
    lead = BUSY_LEAD if busy else LEAD
    load = LoadSeen()
    with WebhookFake(secret=None).running() as fake, burning(busy):
        assert isinstance(fake, WebhookFake)
        root = tmp / f"spread-{time.monotonic_ns()}"
        names = [f"s{n}" for n in range(channels)]
        write_workspace(root, {name: {"network": "webhook", "url": fake.url} for name in names}, {})
        start = datetime.now(UTC) + timedelta(seconds=lead)
        due: dict[str, datetime] = {}

        def rows() -> Iterator[dict[str, Any]]:
            for row in bulk_rows(posts, names, "webhook", start, timedelta(0)):
                at = start + timedelta(seconds=rng.uniform(0, span))
                row.update(scheduled_at=at, due_at=at)
                due[row["idempotency_key"]] = at
                yield row

        bulk_insert(root, rows())
        log = root / "serve.log"
        ready_at: float | None = None
        with log.open("wb") as stderr:
            child = subprocess.Popen(
                [*TAGCAST, "serve", "--log-level", log_level],
                cwd=root,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            deadline = time.monotonic() + lead + span + 120
            while len(fake.deliveries) < posts and time.monotonic() < deadline:
                time.sleep(0.2)
                load.sample()
                if ready_at is None and b"ready: worker" in log.read_bytes():
                    ready_at = time.time()
            child.send_signal(signal.SIGTERM)
            child.wait(60)
        if len(fake.deliveries) < posts:
            raise SystemExit(f"only {len(fake.deliveries)} of {posts} delivered")
        first: dict[str, float] = {}
        for request in fake.requests:
            first.setdefault(request.headers["idempotency-key"], request.at)
        return SpreadRun(
            due=[due[key].timestamp() for key in first],
            lateness=[at - due[key].timestamp() for key, at in first.items()],
            load=load,
            first_due=min(due.values()).timestamp(),
            ready_at=ready_at,
        )


def lateness_line(lateness: Sequence[float]) -> str:
    ms = [value * 1000 for value in lateness]
    return (
        f"p50 {percentile(ms, 50):.1f} ms (goal < 10), p99 {percentile(ms, 99):.1f} ms (goal < 50), "
        f"max {max(ms):.1f} ms, min {min(ms):.1f} ms; {sum(m < 0 for m in ms)} early"
    )


def run_c(tmp: Path, posts: int, channels: int, span: float, *, log_level: str, busy: int = 0) -> None:
    seed = int(os.environ.get("BENCH_SEED", "13"))
    beside = f", beside {busy} busy-looping process(es) (lead {BUSY_LEAD:g} s)" if busy else ""
    print(
        f"\n(c) {posts} posts due at random instants over {span:g} s, {channels} channels, "
        f"service log level {log_level} (seed {seed}), on {loop_name()}{beside}"
    )
    run = part_c(tmp, posts, channels, span, log_level=log_level, seed=seed, busy=busy)
    print(f"  lateness (arrival - due): {lateness_line(run.lateness)}")
    print(f"  {run.load.line(run.first_due)}")
    if run.ready_at is None:
        print("  serve's ready line was not seen (its log level hides it?)")
        return
    ahead = run.first_due - run.ready_at
    print(f"  serve was ready {ahead:.1f} s before the first due instant (within 0.2 s)")
    if ahead < 0:  # its start-up counted as lateness: the posts due once it was ready, apart
        ready = run.ready_at
        after = [late for at, late in zip(run.due, run.lateness, strict=True) if at >= ready]
        if after:
            print(f"  of the {len(after)} posts due after serve was ready: {lateness_line(after)}")


# --- main -----------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--log-level", default="info", help="of the service in part (b)")
    parser.add_argument("--rounds", type=int, default=5, help="of part (b); the median ratio is the result")
    parser.add_argument("--spread-posts", type=int, default=600)
    parser.add_argument("--spread-channels", type=int, default=20)
    parser.add_argument("--spread-seconds", type=float, default=60.0)
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="of part (c): N child processes each burning a core in a Python busy loop during the case",
    )
    parser.add_argument(
        "--event-loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="[service] event_loop of the service, and the raw loop's: the same for both",
    )
    parser.add_argument("--skip-a", action="store_true")
    parser.add_argument("--skip-b", action="store_true")
    parser.add_argument("--skip-c", action="store_true")
    parser.add_argument("--raw-client", help=argparse.SUPPRESS)
    parser.add_argument("--requests", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    OPTIONS.event_loop = args.event_loop

    if args.raw_client:
        requests = [(headers, body) for headers, body in json.loads(Path(args.requests).read_text("utf-8"))]
        with asyncio.Runner(loop_factory=loop_factory(OPTIONS.event_loop)) as runner:
            print(*runner.run(raw_client(args.raw_client, requests, args.concurrency)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="tagcast-bench-"))
    try:
        if not args.skip_a:
            run_a(tmp, args.rows)
        if not args.skip_b:
            run_b(
                tmp, args.posts, args.channels, args.concurrency, log_level=args.log_level, rounds=args.rounds
            )
        if not args.skip_c:
            run_c(
                tmp,
                args.spread_posts,
                args.spread_channels,
                args.spread_seconds,
                log_level=args.log_level,
                busy=args.busy,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_a(tmp: Path, rows: int) -> None:
    channels = [f"c{n}" for n in range(10)]
    config = {name: {"network": "file"} for name in channels}
    empty, full = tmp / "empty", tmp / "full"
    write_workspace(empty, config, {})
    write_workspace(full, config, {})
    began = time.perf_counter()
    first = datetime.now(UTC) + timedelta(days=1)
    inserted = bulk_insert(full, bulk_rows(rows, channels, "file", first, timedelta(seconds=37)))
    insert_seconds = time.perf_counter() - began
    size = (full / "var" / "tagcast.db").stat().st_size / 2**20
    bulk_insert(empty, iter(()))

    deep = rows // 20
    pages = time_list_page(full, deep)
    small, large = start_up(empty), start_up(full)
    print(
        f"\n(a) outbox with {inserted:,} planned deliveries "
        f"(SQLite {size:,.0f} MiB, bulk insert {insert_seconds:.1f} s)"
    )
    print(f"  {'queue list, first page (50 rows)':<40} {'cold ms':>9} {'median ms':>10}")
    for name in ("all", "state+channel", "deep"):
        label = {
            "all": "  all states",
            "state+channel": "  --state planned --channel c3",
            "deep": f"  --offset {deep} (a deep page)",
        }[name]
        print(f"  {label:<40} {pages[f'{name} cold']:>9.2f} {pages[f'{name} median']:>10.2f}")
    print(f"\n  {'tagcast serve start-up':<40} {'empty':>9} {f'{inserted:,} rows':>14} {'ratio':>7}")
    for key, unit, label in (
        ("ready", "s", "launch to ready"),
        ("exit", "s", "launch to exit"),
        ("rss", "MiB", "peak RSS"),
    ):
        ratio = large[key] / small[key]
        print(f"  {label + ' (' + unit + ')':<40} {small[key]:>9.2f} {large[key]:>14.2f} {ratio:>7.2f}")


def run_b(tmp: Path, posts: int, channels: int, concurrency: int, *, log_level: str, rounds: int) -> None:
    print(
        f"\n(b) {posts:,} posts due at one instant, {channels} channels, concurrency {concurrency}, "
        f"service log level {log_level}; {rounds} rounds, serve and the raw loop taking turns to go first; "
        f"both on {loop_name()}"
    )
    header = (
        "round",
        "raw posts/s",
        "serve posts/s",
        "ratio",
        "raw CPU ms",
        "serve CPU ms",
        "first s",
        "p50 s",
        "p99 s",
        "max s",
    )
    print("  " + "".join(f"{h:>14}" for h in header))
    results = []
    for number in range(1, rounds + 1):
        result = part_b(tmp, posts, channels, concurrency, log_level=log_level, serve_first=number % 2 == 0)
        results.append(result)
        values = (
            f"{number}",
            f"{result['raw_rate']:.0f}",
            f"{result['service_rate']:.0f}",
            f"{result['ratio']:.2f}",
            f"{result['raw_cpu'] * 1000:.2f}",
            f"{result['service_cpu'] * 1000:.2f}",
            *(f"{result[key]:.3f}" for key in ("first", "p50", "p99", "max")),
        )
        print("  " + "".join(f"{v:>14}" for v in values), flush=True)
    ratios = [r["ratio"] for r in results]
    print(
        f"\n  throughput ratio serve / raw (goal >= 0.5): median {statistics.median(ratios):.2f} "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    )
    cpu = [r["raw_cpu"] / r["service_cpu"] for r in results]
    print(
        f"  CPU seconds per post, raw / serve (less sensitive to the machine's other load than the ratio): "
        f"median {statistics.median(cpu):.2f} (min {min(cpu):.2f}, max {max(cpu):.2f})"
    )
    print(
        f"  tagcast serve, first to last arrival: median "
        f"{statistics.median(r['service_span_rate'] for r in results):.0f} posts/s"
    )


if __name__ == "__main__":
    main()
