"""``tagcast status --check`` on PostgreSQL reads the workers by their heartbeat, a few index ranges, and says
what it said when it read every row: a crashed last run, and a stall counted from an old run's start."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from service.test_status_check_among_many_workers import MAX_AGE, STALL_AFTER, before, old_runs
from store.store_support import make_post

from scheduler.cli.status_check import needs_a_person, stalled
from scheduler.config.durations import format_duration
from scheduler.store import Store
from scheduler.store.schema import workers

pytestmark = pytest.mark.postgres


def test_status_check_on_postgresql_says_what_it_said_reading_every_row(pg_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    host = socket.gethostname()
    with Store.open(pg_url, root=tmp_path) as store:
        store.upsert(
            make_post("posts/a.md", "file", at=now - timedelta(minutes=30)), now=now - timedelta(hours=1)
        )
        runs = old_runs(now, 0)[-600:]  # the last 600 of the old runs, from about 17 hours to a day ago
        with store.engine.begin() as connection:
            connection.execute(workers.insert(), runs)
        store.register_worker("here-killed", host=host, pid=0, now=now - timedelta(minutes=40))
        store.heartbeat("here-killed", now=now - timedelta(minutes=30))
        store.register_worker("here-clean", host=host, pid=0, now=now - timedelta(minutes=50))
        store.stop_worker("here-clean", now=now - timedelta(minutes=45))

        expected = before(store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
        assert [problem.split(" (")[0] for problem in expected] == [
            "the last `tagcast serve`",
            "no worker heartbeat for 30m",
            "the dispatcher is stalled: a post has been due for 30m and no delivery was claimed or settled "
            "for 40m",  # since the start of the run that never stopped
        ]
        assert f"worker here-killed on {host}, pid 0" in expected[0]
        problems = needs_a_person(store, now=now, max_heartbeat_age=MAX_AGE, host=host)
        problems += stalled(store, now=now, stall_after=STALL_AFTER)
        assert problems == expected


def test_a_post_never_claimed_with_no_worker_left_running_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """Every old run stopped (or, then, only the oldest never did) and no post was ever claimed: the stall is
    said as when every row was read, from the last start of a worker not stopped (one index look-up)."""
    now = datetime.now(UTC).replace(microsecond=0)
    with Store.open(pg_url, root=tmp_path) as store:
        store.upsert(
            make_post("posts/a.md", "file", at=now - timedelta(minutes=30)), now=now - timedelta(hours=1)
        )
        runs = [{**run, "stopped_at": run["heartbeat_at"]} for run in old_runs(now, 0)[-600:]]
        with store.engine.begin() as connection:
            connection.execute(workers.insert(), runs)
        expected = before(store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
        assert expected[-1].startswith(
            "the dispatcher is stalled: a post has been due for 30m and no delivery was ever claimed"
        )
        assert stalled(store, now=now, stall_after=STALL_AFTER) == expected[-1:]

        with store.engine.begin() as connection:
            oldest = workers.c.id == runs[0]["id"]
            connection.execute(workers.update().where(oldest).values(stopped_at=None))
        expected = before(store, now=now, max_age=MAX_AGE, stall_after=STALL_AFTER)
        quiet = format_duration(now - runs[0]["started_at"])  # type: ignore[operator]
        assert f"no delivery was claimed or settled for {quiet} " in expected[-1]
        assert stalled(store, now=now, stall_after=STALL_AFTER) == expected[-1:]
