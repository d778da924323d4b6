"""``tagcast status --check``: what needs a person, for cron and monitoring agents (exit 1 when it does).

A person is needed when a delivery ``failed`` for good or is ``unknown`` (it waits for ``queue resolve``),
when a channel is paused, when the outbox has seen ``tagcast serve`` workers but none has beaten within
``--max-heartbeat-age`` (a worker died, or cron stopped running ``serve --once``), or when the dispatcher is
stalled: a post has been due for ``service.stall_after`` and no delivery was claimed or settled meanwhile
(:func:`stalled`)::

    */5 * * * *  cd /srv/tagcast && tagcast status --check --max-heartbeat-age 15m || notify-someone

Imported inside the command (it pulls in the store).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scheduler.config.durations import format_duration
from scheduler.store import Store

DEFAULT_MAX_HEARTBEAT_AGE = timedelta(minutes=10)


def _plural(number: int, word: str) -> str:
    return f"{number} {word}{'s' if number != 1 else ''}"


def needs_a_person(store: Store, *, now: datetime, max_heartbeat_age: timedelta) -> list[str]:
    """One line per problem, each saying what to run; empty when nothing needs a person."""
    problems: list[str] = []
    for channel, states in sorted(store.counts().items()):
        failed, unknown = states.get("failed", 0), states.get("unknown", 0)
        if failed:
            problems.append(
                f"{channel}: {_plural(failed, 'delivery')} failed; fix the cause, then "
                f"`tagcast queue retry ID` (list: `tagcast queue list --channel {channel} --state failed`)"
            )
        if unknown:
            problems.append(
                f"{channel}: {_plural(unknown, 'delivery')} unknown (maybe posted); check the account, then "
                f"`tagcast queue resolve ID --sent URL` or `--not-sent` "
                f"(list: `tagcast queue list --channel {channel} --state unknown`)"
            )
    for channel, pause in sorted(store.paused(now).items()):
        until = pause.until.isoformat(timespec="minutes") if pause.until else "resumed"
        problems.append(f"{channel}: paused until {until}: {pause.reason}")
    workers = store.workers()
    if workers:
        newest = max(worker.heartbeat_at for worker in workers)
        silent = now - newest
        if silent > max_heartbeat_age:
            problems.append(
                f"no worker heartbeat for {format_duration(silent)} (--max-heartbeat-age "
                f"{format_duration(max_heartbeat_age)}): "
                "is `tagcast serve` (or `serve --once` in cron) running?"
            )
    return problems


def stalled(store: Store, *, now: datetime, stall_after: timedelta) -> list[str]:
    """The dispatcher's stall as a problem (``service.stall_after``, the rule of ``/healthz``): a post due for
    that long while no delivery was claimed or settled."""
    from scheduler.service.health import stall_problem

    problem = stall_problem(store.progress(now), now=now, stall_after=stall_after)
    return [problem] if problem else []
