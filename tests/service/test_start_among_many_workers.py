"""The start of ``tagcast serve`` reads a few rows of ``workers``, however many other hosts and old runs left
there (a cron job's ``serve --once`` adds a row per run, per host, kept for a week): it still finds the
previous run on this host, says "started after a crash" exactly when that run did not stop cleanly, and
reconciles what a gone worker of this host held."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakes.webhook import WebhookFake
from sqlalchemy import event

from scheduler.service.events import Event, ServiceStarted
from scheduler.service.previous_run import PAGE
from scheduler.service.runner import Service
from scheduler.store.schema import workers

from .conftest import Site, article, config_text, reaped_pid

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
HOST = socket.gethostname()
OLD_ROWS = 5_000


def row(
    worker: str, host: str, pid: int, started: datetime, seen: datetime, *, stopped: bool
) -> dict[str, object]:
    return {
        "id": worker,
        "host": host,
        "pid": pid,
        "started_at": started,
        "heartbeat_at": seen,
        "stopped_at": seen if stopped else None,
    }


def other_hosts(count: int, pid: int) -> list[dict[str, object]]:
    """``count`` runs of 40 other hosts over the last six days (not old enough to be pruned), the newest a
    minute ago; every third one never stopped (crashed on its own host: not this host's business)."""
    first = START - timedelta(days=6)
    step = (timedelta(days=6) - timedelta(minutes=1)) / max(count, 1)
    return [
        row(
            f"cron-{n}",
            f"host-{n % 40}",
            pid,
            first + n * step,
            first + n * step + timedelta(seconds=20),
            stopped=n % 3 != 0,
        )
        for n in range(count)
    ]


def this_host(live: int, dead: int, *, previous_stopped: bool) -> list[dict[str, object]]:
    """Runs of this host: an old clean one, an older killed one, the previous run (stopped cleanly or not),
    and more running workers started after it than one page of rows."""
    runs = [
        row("here-long-ago", HOST, dead, START - timedelta(days=3), START - timedelta(days=3), stopped=True),
        row(
            "here-killed-before",
            HOST,
            dead,
            START - timedelta(hours=3),
            START - timedelta(hours=3),
            stopped=False,
        ),
        row(
            "here-previous",
            HOST,
            dead,
            START - timedelta(hours=2),
            START - timedelta(minutes=90),
            stopped=previous_stopped,
        ),
    ]
    runs += [
        row(
            f"here-running-{n}",
            HOST,
            live,
            START - timedelta(minutes=60 - n),
            START - timedelta(seconds=5),
            stopped=False,
        )
        for n in range(PAGE + 2)
    ]
    return runs


def outbox(site: Site, webhook: WebhookFake, rows: list[dict[str, object]]) -> str:
    """A due post claimed by ``here-previous`` (with a long lease, never sent), and ``rows`` in ``workers``;
    the id of that post's delivery."""
    site.write_config(
        config_text({"hook": {"network": "webhook", "url": webhook.url}}, service={"lease": "10m"})
    )
    site.write_post("a.md", article("A", publish_at=(START - timedelta(minutes=1)).isoformat()))
    site.ingest(START - timedelta(minutes=2))
    with site.store.engine.begin() as connection:
        connection.execute(workers.insert(), rows)
    [claimed] = site.store.claim_due(START, worker="here-previous", lease=timedelta(minutes=10), limit=1)
    return claimed.id


def start(site: Site) -> list[Event]:
    """Start a worker at START (on this host) and stop it right after its start-up; what it reported."""
    service = Service(site.workspace, site.store, worker_id="here-now", clock=lambda: START)
    heard: list[Event] = []
    service.monitor.bus.subscribe(heard.append)
    try:
        assert asyncio.run(service.run(once=False, exit_after_start=True)) == 0
    finally:
        gc.unfreeze()  # the service froze what it had built (a process of its own does): give it back
    return heard


@pytest.mark.parametrize("previous_stopped", [False, True], ids=["killed", "stopped"])
def test_the_start_names_the_previous_run_of_this_host_among_thousands_of_rows(
    site: Site,
    webhook: WebhookFake,
    live_pid: int,
    caplog: pytest.LogCaptureFixture,
    previous_stopped: bool,
) -> None:
    dead = reaped_pid()
    rows = other_hosts(OLD_ROWS, dead) + this_host(live_pid, dead, previous_stopped=previous_stopped)
    delivery = outbox(site, webhook, rows)

    with caplog.at_level(logging.INFO, logger="tagcast.service"):
        heard = start(site)

    [started] = [event for event in heard if isinstance(event, ServiceStarted)]
    assert (started.worker_id, started.previous_worker, started.after_crash) == (
        "here-now",
        "here-previous",
        not previous_stopped,
    )
    crash = (
        "started after a crash: the previous run on this host (here-previous, last heartbeat "
        "2026-01-05T10:30:00+00:00) did not stop cleanly"
    )
    assert (crash in caplog.text) is (not previous_stopped)
    assert caplog.text.count("started after a crash") == (0 if previous_stopped else 1)
    # what the previous run held is reconciled at once: its process is gone
    assert "worker(s) here-previous of this host are gone: their 1 delivery(ies) in sending" in caplog.text
    assert started.leftovers == 1
    assert site.store.get(delivery).claimed_by != "here-previous"


def sqlite_work(site: Site) -> tuple[list[int], list[str]]:
    """Count the SQLite virtual machine's progress ticks (a count of work done, not of time) of every
    statement on the outbox from now on, and record the query plan of every SELECT on ``workers``."""
    ticks = [0]
    plans: list[str] = []

    def tick() -> int:
        ticks[0] += 1
        return 0

    def count(dbapi_connection: object, record: object, proxy: object) -> None:
        dbapi_connection.set_progress_handler(tick, 1)  # type: ignore[attr-defined]

    def explain(
        connection: object, cursor: object, statement: str, parameters: object, *rest: object
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM workers" in statement:
            plan = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()  # type: ignore[attr-defined]
            plans.append(" / ".join(step[-1] for step in plan))

    event.listen(site.store.engine.pool, "checkout", count)
    event.listen(site.store.engine, "before_cursor_execute", explain)
    return ticks, plans


def test_thousands_of_old_worker_rows_add_no_work_to_the_start(
    tmp_path: Path, webhook: WebhookFake, live_pid: int
) -> None:
    dead = reaped_pid()
    runs = this_host(live_pid, dead, previous_stopped=False)
    work: dict[int, int] = {}
    for count in (0, OLD_ROWS):
        site = Site(tmp_path / f"with-{count}")
        (site.root / "posts").mkdir(parents=True)
        try:
            outbox(site, webhook, other_hosts(count, dead) + runs)
            ticks, plans = sqlite_work(site)
            [started] = [event for event in start(site) if isinstance(event, ServiceStarted)]
            assert (started.previous_worker, started.after_crash) == ("here-previous", True)
            assert plans and not [plan for plan in plans if "SCAN workers" in plan], plans
            work[count] = ticks[0]
        finally:
            site.close()
    # reading every row (as the start did before) cost some 290,000 ticks more with 5,000 rows
    assert work[OLD_ROWS] <= work[0] + 100, work
