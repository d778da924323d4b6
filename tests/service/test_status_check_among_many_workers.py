"""``tagcast status --check`` reads a few rows of ``workers``, however many old runs the table keeps (a cron
job's ``serve --once`` adds a row per run, per host, kept for a week), and says exactly what it said when it
read every row: the same problems, word for word, for a healthy outbox, a crashed last run, and a stalled
dispatcher (whose message counts from the last start of a worker not stopped)."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store.store_support import make_post
from typer.testing import CliRunner

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.cli.status_check import PENDING_STATES, _service_problems, needs_a_person, stalled
from scheduler.config.durations import format_duration
from scheduler.service.health import outbox_stalls
from scheduler.store import Store
from scheduler.store.schema import workers

from .conftest import Site, config_text, reaped_pid
from .test_start_among_many_workers import row, sqlite_work

HOST = socket.gethostname()
OLD_ROWS = 5_000
MAX_AGE = timedelta(minutes=10)
STALL_AFTER = timedelta(minutes=5)
LEASE = timedelta(minutes=10)


def old_runs(now: datetime, pid: int) -> list[dict[str, object]]:
    """5,000 cron runs of 40 other hosts from six days to a day ago, each 20 s long; every third one never
    stopped (crashed on its own host)."""
    first = now - timedelta(days=6)
    step = timedelta(days=5) / OLD_ROWS
    return [
        row(f"cron-{n}", f"host-{n % 40}", pid, first + n * step, first + n * step + timedelta(seconds=20),
            stopped=n % 3 != 0)
        for n in range(OLD_ROWS)
    ]  # fmt: skip


def before(store: Store, *, now: datetime, max_age: timedelta, stall_after: timedelta) -> list[str]:
    """What ``status --check`` said of the workers and of a stall when it read every row of ``workers``
    (``store.workers()``): the code it ran then, on the same functions."""
    every = store.workers()
    pending = sum(states.get(state, 0) for states in store.counts().values() for state in PENDING_STATES)
    problems = _service_problems(every, pending, now, max_age, HOST)
    if not every:
        return problems
    running = [worker.started_at for worker in every if worker.stopped_at is None]
    return problems + outbox_stalls(store, now=now, stall_after=stall_after, since=max(running, default=None))


def healthy(site: Site, now: datetime, live: int, dead: int) -> list[str]:
    """A long-running worker of this host beats now; the last cron run stopped cleanly a minute ago."""
    site.store.register_worker("here-serve", host=HOST, pid=live, now=now - timedelta(days=2))
    site.store.heartbeat("here-serve", now=now - timedelta(seconds=5))
    site.store.register_worker("cron-last", host="host-7", pid=dead, now=now - timedelta(minutes=2))
    site.store.stop_worker("cron-last", now=now - timedelta(minutes=1))
    return []


def crashed(site: Site, now: datetime, live: int, dead: int) -> list[str]:
    """The last run (this host, its process gone) never stopped, and was last seen 30 minutes ago."""
    site.store.register_worker("here-clean", host=HOST, pid=dead, now=now - timedelta(hours=2))
    site.store.stop_worker("here-clean", now=now - timedelta(hours=1))
    site.store.register_worker("here-killed", host=HOST, pid=dead, now=now - timedelta(minutes=40))
    site.store.heartbeat("here-killed", now=now - timedelta(minutes=30))
    seen = (now - timedelta(minutes=30)).isoformat(timespec="seconds")
    return [
        f"the last `tagcast serve` (worker here-killed on {HOST}, pid {dead}, last heartbeat {seen}) did "
        "not stop cleanly: it was killed or crashed; see its log, then start `tagcast serve` again (it "
        "reconciles what that one was sending)",
        "no worker heartbeat for 30m (--max-heartbeat-age 10m): is `tagcast serve` (or `serve --once` in "
        "cron) running?",
    ]


def stalled_since_a_start(site: Site, now: datetime, live: int, dead: int) -> list[str]:
    """A post sent three hours ago, another due for 30 minutes; a worker started 8 minutes ago beats now
    and sends nothing: quiet since its start, not since the last send."""
    [claimed] = site.store.claim_due(now - timedelta(hours=3), worker="cron-9", lease=LEASE, limit=1)
    site.store.mark_sent(claimed.id, Receipt(remote_ids=("1",)), now=now - timedelta(hours=3))
    site.store.register_worker("w-new", host="elsewhere", pid=1, now=now - timedelta(minutes=8))
    site.store.heartbeat("w-new", now=now - timedelta(seconds=5))
    return [
        "the dispatcher is stalled: a post has been due for 30m and no delivery was claimed or settled for "
        "8m (service.stall_after = 5m); read the log of `tagcast serve` and restart it"
    ]


def serving_for_a_week(site: Site, now: datetime, live: int, dead: int) -> list[str]:
    """A worker of this host, started before all the cron runs of the other hosts (which ended a day ago),
    beats now: the runs seen since its start are read back only until one started later than it."""
    site.store.register_worker("here-serve", host=HOST, pid=live, now=now - timedelta(days=6, hours=1))
    site.store.heartbeat("here-serve", now=now - timedelta(seconds=5))
    return []


SCENARIOS: dict[str, Callable[[Site, datetime, int, int], list[str]]] = {
    "healthy": healthy,
    "serving-for-a-week": serving_for_a_week,
    "crashed": crashed,
    "stalled": stalled_since_a_start,
}


def due_posts(site: Site, now: datetime) -> None:
    """Two posts, due four hours and 30 minutes ago."""
    for name, due in (("a", timedelta(hours=4)), ("b", timedelta(minutes=30))):
        post = make_post(f"posts/{name}.md", "file", at=now - due)
        site.store.upsert(post, now=now - timedelta(hours=5))


def prepare(site: Site, scenario: str, *, now: datetime, live: int, dead: int, old: int) -> list[str]:
    """The outbox of ``scenario`` with ``old`` old runs in ``workers``; the problems it must show."""
    site.write_config(
        config_text({"file": {"network": "file"}}, service={"stall_after": "5m", "lease": "10m"})
    )
    if scenario == "stalled":
        due_posts(site, now)
    if old:
        with site.store.engine.begin() as connection:
            connection.execute(workers.insert(), old_runs(now, dead)[:old])
    return SCENARIOS[scenario](site, now, live, dead)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_status_check_reads_few_worker_rows_and_says_what_it_said_before(
    tmp_path: Path, live_pid: int, scenario: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    dead = reaped_pid()
    work: dict[int, int] = {}
    for old in (0, OLD_ROWS):
        site = Site(tmp_path / f"with-{old}")
        try:
            expected = prepare(site, scenario, now=now, live=live_pid, dead=dead, old=old)
            assert before(site.store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER) == expected

            ticks, plans = sqlite_work(site)
            problems = needs_a_person(site.store, now=now, max_heartbeat_age=MAX_AGE, host=HOST)
            problems += stalled(site.store, now=now, stall_after=STALL_AFTER)
            assert problems == expected
            assert plans and not [plan for plan in plans if "SCAN workers" in plan], plans
            work[old] = ticks[0]

            result = CliRunner().invoke(app, ["status", "--check", "--json", "--config", str(site.root)])
        finally:
            site.close()
        assert result.exit_code == (1 if expected else 0), result.output
        answer = json.loads(result.stdout)
        assert list(answer) == ["ok", "problems"]
        assert answer["ok"] is not expected
        # the command reads the clock itself, a moment later: a duration it prints may be a second longer
        assert [problem.split(" for ")[0] for problem in answer["problems"]] == [
            problem.split(" for ")[0] for problem in expected
        ]
    # reading every row (as the check did before) cost some 145,000 ticks more with 5,000 rows; now at most
    # a first page of older runs (4 rows) is read where there were none
    assert work[OLD_ROWS] <= work[0] + 200, work


@pytest.mark.parametrize("sent", [timedelta(days=3), None], ids=["sent-3-days-ago", "never-sent"])
def test_a_stall_counts_from_an_old_run_that_never_stopped_as_before(
    site: Site, sent: timedelta | None
) -> None:
    """No worker runs now; the newest run that never stopped is a day old, and the last send older still
    (or there was none): the stall is counted from that run's start, as when every row was read, which is
    then read back to that send (or to that run)."""
    now = datetime.now(UTC).replace(microsecond=0)
    site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "5m"}))
    due_posts(site, now)
    if sent is not None:
        site.store.upsert(make_post("posts/old.md", "file", at=now - sent), now=now - sent)
        [claimed] = site.store.claim_due(now - sent, worker="cron-9", lease=LEASE, limit=1)
        site.store.mark_sent(claimed.id, Receipt(remote_ids=("1",)), now=now - sent)
    with site.store.engine.begin() as connection:
        connection.execute(workers.insert(), old_runs(now, reaped_pid()))
    newest_crash = max(w["started_at"] for w in old_runs(now, 0) if w["stopped_at"] is None)
    quiet = now - newest_crash  # type: ignore[operator]
    expected = before(site.store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
    assert f"no delivery was claimed or settled for {format_duration(quiet)} " in expected[-1]

    _, plans = sqlite_work(site)
    problems = needs_a_person(site.store, now=now, max_heartbeat_age=MAX_AGE, host=HOST)
    problems += stalled(site.store, now=now, stall_after=STALL_AFTER)
    assert problems == expected
    assert plans and not [plan for plan in plans if "SCAN workers" in plan], plans


def test_runs_seen_at_the_same_moment_are_all_read_past_a_page_boundary(site: Site) -> None:
    """A page of older runs that ends among runs with the same last heartbeat reads all of them: the last
    started of all (the one with the largest id) is among them, and is named as before."""
    now = datetime.now(UTC).replace(microsecond=0)
    dead = reaped_pid()
    seen = now - timedelta(hours=1)
    ties = [
        row(f"tie-{n:02}", f"host-{n}", dead, seen - timedelta(minutes=80 - n), seen, stopped=n < 11)
        for n in range(12)
    ]
    with site.store.engine.begin() as connection:
        connection.execute(workers.insert(), old_runs(now, dead) + ties)
    site.store.register_worker("long", host="host-x", pid=dead, now=now - timedelta(days=2))
    site.store.heartbeat("long", now=now - timedelta(minutes=30))

    expected = before(site.store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
    assert "(worker tie-11 on host-11, " in expected[0]
    problems = needs_a_person(site.store, now=now, max_heartbeat_age=MAX_AGE, host=HOST)
    assert problems == expected


@pytest.mark.parametrize("oldest", ["stopped", "crashed"])
def test_a_post_never_claimed_with_no_worker_left_running_reads_one_index_entry(
    tmp_path: Path, oldest: str
) -> None:
    """Two posts due and none ever claimed; every one of the 5,000 old runs stopped cleanly (or only the
    oldest, six days ago, never did). Whether any worker was left without stopping, and the last start of
    one, is one look-up in ``ix_workers_not_stopped``, not a read back through every row of ``workers``;
    the stall is said word for word as when every row was read."""
    now = datetime.now(UTC).replace(microsecond=0)
    dead = reaped_pid()
    work: dict[int, int] = {}
    for old in (0, OLD_ROWS):
        site = Site(tmp_path / f"with-{old}")
        try:
            site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "5m"}))
            due_posts(site, now)
            runs = [{**run, "stopped_at": run["heartbeat_at"]} for run in old_runs(now, dead)]
            if oldest == "crashed":
                runs[0]["stopped_at"] = None
            with site.store.engine.begin() as connection:
                connection.execute(workers.insert(), runs[: max(old, 1)])
            expected = before(site.store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
            assert expected[-1].startswith("the dispatcher is stalled: a post has been due for 4h and ")
            if oldest == "stopped":
                assert "and no delivery was ever claimed (service.stall_after = 5m)" in expected[-1]
            else:
                quiet = format_duration(now - runs[0]["started_at"])  # type: ignore[operator]
                assert f"no delivery was claimed or settled for {quiet} " in expected[-1]

            ticks, plans = sqlite_work(site)
            problems = needs_a_person(site.store, now=now, max_heartbeat_age=MAX_AGE, host=HOST)
            problems += stalled(site.store, now=now, stall_after=STALL_AFTER)
            assert problems == expected
            assert plans and not [plan for plan in plans if "SCAN workers" in plan], plans
            assert "SEARCH workers USING INDEX ix_workers_not_stopped" in plans
            work[old] = ticks[0]
        finally:
            site.close()
    # reading back through every row (as the check did for this case) cost some 100,000s of ticks more with
    # 5,000 rows; now a few pages of the newest runs at most
    assert work[OLD_ROWS] <= work[0] + 200, work


def test_the_last_start_is_found_when_that_workers_clock_stepped_back_hours(site: Site) -> None:
    """The last run started an hour ago; its clock then stepped back two hours and it beat by that clock
    before it was killed. Among 5,000 old runs and one stopped 20 minutes ago, it is still the last started:
    its crash is named (its heartbeat recorded at its start), as when every row was read."""
    now = datetime.now(UTC).replace(microsecond=0)
    dead = reaped_pid()
    with site.store.engine.begin() as connection:
        connection.execute(workers.insert(), old_runs(now, dead))
    site.store.register_worker("stepped", host="elsewhere", pid=dead, now=now - timedelta(hours=1))
    site.store.heartbeat("stepped", now=now - timedelta(hours=3))
    site.store.register_worker("clean", host="elsewhere", pid=dead, now=now - timedelta(hours=2))
    site.store.stop_worker("clean", now=now - timedelta(minutes=20))

    expected = before(site.store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
    started = (now - timedelta(hours=1)).isoformat(timespec="seconds")
    assert f"(worker stepped on elsewhere, pid {dead}, last heartbeat {started})" in expected[0]
    problems = needs_a_person(site.store, now=now, max_heartbeat_age=MAX_AGE, host=HOST)
    assert problems == expected
