"""``tagcast status --check``: what needs a person, for cron and monitoring agents (exit 1 when it does).

A person is needed when

- an article in ``posts/`` cannot be read (it is not sent until it is fixed);
- the last poll of a ``[sources.NAME]`` feed failed (its new entries wait until a poll succeeds);
- a delivery ``failed`` for good or is ``unknown`` (it waits for ``queue resolve``), or a channel is paused;
- deliveries are queued but no ``tagcast serve`` has ever run on this outbox (nothing will send them);
- the last ``tagcast serve`` did not stop cleanly (killed or crashed) and none runs now: a worker row with no
  ``stopped_at`` whose process is gone (on this host) or that has not beaten within ``--max-heartbeat-age``;
- workers were seen but none has beaten within ``--max-heartbeat-age`` (a worker died, or cron stopped
  running ``serve --once``);
- a channel's token that tagcast cannot refresh expires within ``[alerts] token_warning`` (or has expired), or
  one it refreshes has expired (:mod:`scheduler.service.token_watch`);
- the dispatcher is stalled: a post has been due for ``service.stall_after`` and no delivery was claimed or
  settled meanwhile (:func:`stalled`, the rule of ``/healthz``)::

    */5 * * * *  cd /srv/tagcast && tagcast status --check --max-heartbeat-age 15m || notify-someone

It reads only the workers seen lately, a few index ranges of ``workers``, and for a stall the last start of a
worker not stopped, one index look-up, however many rows a week of cron runs left there.

Imported inside the command (it pulls in the store).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta

from scheduler.config.durations import format_duration
from scheduler.errors import ArticleError
from scheduler.service.previous_run import process_running
from scheduler.service.token_watch import token_problems
from scheduler.store import Store, WorkerInfo

DEFAULT_MAX_HEARTBEAT_AGE = timedelta(minutes=10)
PENDING_STATES = ("planned", "retrying", "sending")
"""States of a delivery that a running ``tagcast serve`` still has to send."""


def _plural(number: int, word: str) -> str:
    if number == 1:
        return f"{number} {word}"
    return f"{number} {word[:-1]}ies" if word.endswith("y") else f"{number} {word}s"


def needs_a_person(
    store: Store,
    *,
    now: datetime,
    max_heartbeat_age: timedelta,
    host: str | None = None,
    unreadable: Sequence[ArticleError] = (),
    sources: Collection[str] | None = None,
    token_warning: timedelta | None = None,
    channels: Collection[str] | None = None,
) -> list[str]:
    """One line per problem, each saying what to run; empty when nothing needs a person. ``host`` is this
    machine's name (a worker of it whose process is gone has stopped, whatever its heartbeat says);
    ``unreadable`` the articles that cannot be read; ``sources`` the configured ``[sources.NAME]`` (the
    last error of a source no longer configured is not reported); ``token_warning`` how long before an
    expiry a token that cannot be refreshed is reported (None: tokens are not looked at), for the
    configured ``channels``."""
    problems = [
        f"cannot read {str(error).replace(chr(10) + '  hint: ', '; ')} "
        "(not sent until fixed; `tagcast check` lists every problem)"
        for error in unreadable
    ]
    counts = store.counts()
    for channel, states in sorted(counts.items()):
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
    for feed in store.feed_states():
        if feed.error is not None and (sources is None or feed.source in sources):
            since = feed.polled_at.isoformat(timespec="minutes") if feed.polled_at else "?"
            problems.append(
                f"source {feed.source}: the last poll ({since}) failed: {feed.error} "
                f"(tried again every interval; check [sources.{feed.source}] url)"
            )
    if token_warning is not None:
        due = token_problems(store.token_expiries(), now=now, warning=token_warning, channels=channels)
        problems += [problem for _, problem in due]
    pending = sum(states.get(state, 0) for states in counts.values() for state in PENDING_STATES)
    seen = _recent_workers(store, now=now, max_heartbeat_age=max_heartbeat_age)
    problems += _service_problems(seen, pending, now, max_heartbeat_age, host)
    return problems


def _recent_workers(store: Store, *, now: datetime, max_heartbeat_age: timedelta) -> list[WorkerInfo]:
    """The workers that :func:`_service_problems` judges the same as it would judge every row of
    ``workers``, newest heartbeat first (ties by id, as :meth:`Store.workers` lists them): every worker seen
    within ``max_heartbeat_age`` (one of them may be running), else the last one seen; and every worker seen
    since the newest start among them (a worker's last heartbeat is never before its start, whatever its
    clock did: :meth:`Store.heartbeat`), so the last started of all is among them. Empty when no worker ever
    registered. A few ranges of ``ix_workers_heartbeat``, however many old runs ``workers`` keeps."""
    newest = store.last_heartbeat()
    if newest is None:
        return []
    oldest = min(now - max_heartbeat_age, newest)
    seen = store.workers_seen(since=oldest)
    started = max(worker.started_at for worker in seen)
    if started >= oldest:
        return seen
    for worker in _seen_before(store, oldest):
        if worker.heartbeat_at < started:
            break
        seen.append(worker)
        started = max(started, worker.started_at)
    return seen


FIRST_PAGE, LAST_PAGE = 4, 256
"""Workers read at a time, going back from the newest heartbeats: a few first, twice as many each time."""


def _seen_before(store: Store, before: datetime) -> Iterator[WorkerInfo]:
    """Every worker last seen before ``before``, newest heartbeat first (ties by id), read a page at a time
    (:data:`FIRST_PAGE`, then more): a caller stops once it has gone back far enough."""
    size = FIRST_PAGE
    while True:
        page = store.workers_seen(since=None, before=before, limit=size)
        if len(page) < size:
            yield from page
            return
        last = page[-1].heartbeat_at  # the page may end inside a group of equal heartbeats: take all of it
        yield from [worker for worker in page if worker.heartbeat_at > last]
        yield from store.workers_seen(since=last, before=last + timedelta(microseconds=1))
        before, size = last, min(size * 2, LAST_PAGE)


def _service_problems(
    workers: list[WorkerInfo], pending: int, now: datetime, max_heartbeat_age: timedelta, host: str | None
) -> list[str]:
    if not workers:
        if not pending:
            return []
        return [
            f"{_plural(pending, 'delivery')} queued, but no `tagcast serve` has ever run on this outbox: "
            "start `tagcast serve` (or run `tagcast serve --once` from cron)"
        ]
    problems: list[str] = []

    def running(worker: WorkerInfo) -> bool:
        if worker.stopped_at is not None or now - worker.heartbeat_at > max_heartbeat_age:
            return False
        return worker.host != host or process_running(worker.pid)

    last = max(workers, key=lambda worker: (worker.started_at, worker.heartbeat_at))
    if last.stopped_at is None and not any(running(worker) for worker in workers):
        problems.append(
            f"the last `tagcast serve` (worker {last.id} on {last.host}, pid {last.pid}, last heartbeat "
            f"{last.heartbeat_at.isoformat(timespec='seconds')}) did not stop cleanly: it was killed or "
            "crashed; see its log, then start `tagcast serve` again (it reconciles what that one was sending)"
        )
    silent = now - max(worker.heartbeat_at for worker in workers)
    if silent > max_heartbeat_age:
        problems.append(
            f"no worker heartbeat for {format_duration(silent)} (--max-heartbeat-age "
            f"{format_duration(max_heartbeat_age)}): "
            "is `tagcast serve` (or `serve --once` in cron) running?"
        )
    return problems


def stalled(store: Store, *, now: datetime, stall_after: timedelta) -> list[str]:
    """The dispatcher's stall as a problem (``service.stall_after``, the rule of ``/healthz``): a post due for
    that long while no delivery was claimed or settled, counted from the last start of a worker not stopped
    at the earliest (a service that has just started is not stalled yet); else each channel stalled so while
    others go on. Not before any ``tagcast serve`` ran on this outbox: :func:`needs_a_person` says that
    already."""
    from scheduler.service.health import outbox_stalls

    if store.last_heartbeat() is None:
        return []
    since = store.last_start_not_stopped()
    return outbox_stalls(store, now=now, stall_after=stall_after, since=since)
