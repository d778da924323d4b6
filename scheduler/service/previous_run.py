"""Did the previous run of ``tagcast serve`` on this host stop cleanly? (The "started after a crash" alert.)

The outbox already records every worker (:mod:`scheduler.service.workers`): a row per process, with its
host and pid, its heartbeats, and ``stopped_at`` set only by a clean shutdown (SIGTERM, Ctrl-C, the end of
``--once``). So at start, BEFORE this worker registers, the previous run on this host is the most recently
started worker row of this host whose process is not running any more; if its ``stopped_at`` is empty it
was killed (SIGKILL, OOM, power cut) or crashed. The start reads only the newest rows of this host (an
index on host and start time), never every row: a cron job's ``serve --once`` leaves a row per run.

Why this and not a marker file in ``var/``: it works the same for every worker sharing one outbox (several
processes on one host never take each other's marker for a crash: a live pid is skipped), it needs no file
that a read-only deployment could not write, and a crash is reported once: the next start finds this clean
run first. A worker of another host is judged when that host starts again. Caveat: a container that gets a
new host name at every start cannot find its previous run this way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from scheduler.store import Store, WorkerInfo


@dataclass(frozen=True)
class PreviousRun:
    """The last run of ``tagcast serve`` on this host that is not running now."""

    worker_id: str
    started_at: datetime
    last_seen: datetime
    stopped_cleanly: bool


def process_running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


PAGE = 8
"""Rows of this host read at a time, newest first, while looking for the previous run: only the runs of this
host that are still running (other workers here, or a pid taken again by another program) come before it."""


def ended_here(store: Store, *, host: str, pid: int | None = None) -> list[WorkerInfo]:
    """The workers of ``host`` whose process is not running any more and that still hold deliveries in
    ``sending`` (what the start reconciles at once). ``pid`` is this process (a row with the same pid belongs
    to an earlier process that had it); call this before this worker registers, or leave its own row out."""
    own = os.getpid() if pid is None else pid
    return [w for w in store.holders_on(host) if w.pid == own or not process_running(w.pid)]


def previous_run(store: Store, *, host: str, pid: int | None = None) -> PreviousRun | None:
    """The previous run on ``host`` (see the module docstring); None when there is none. ``pid`` is this
    process (a row with the same pid belongs to an earlier process that had it).

    Reads the rows of ``host`` newest first, :data:`PAGE` at a time, and stops at the first whose process is
    gone: a few rows, however many old runs and other hosts ``workers`` holds."""
    own = os.getpid() if pid is None else pid
    offset = 0
    while True:
        page = store.workers_of_host(host, limit=PAGE, offset=offset)
        for run in page:
            if run.pid == own or not process_running(run.pid):
                return PreviousRun(
                    worker_id=run.id,
                    started_at=run.started_at,
                    last_seen=run.heartbeat_at,
                    stopped_cleanly=run.stopped_at is not None,
                )
        if len(page) < PAGE:
            return None
        offset += PAGE
