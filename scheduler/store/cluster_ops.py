"""Many ``tagcast serve`` workers on one outbox: who is alive (heartbeats), and work done once per period.

Workers
    Each worker has a row in ``workers`` (host, pid, started, last heartbeat, stopped). What a worker holds
    is not stored twice: it is the deliveries in ``sending`` whose ``claimed_by`` is its id. ``workers`` keeps
    a row per run for a week (a row per ``serve --once`` from cron), so a start reads only the newest runs of
    its host (:meth:`ClusterMixin.workers_of_host`) and the holders of what is sending
    (:meth:`ClusterMixin.holders_on`), and ``status --check`` the workers seen since a moment
    (:meth:`ClusterMixin.workers_seen`) and the last start of one not stopped
    (:meth:`ClusterMixin.last_start_not_stopped`), never every row.

Periodic work
    :meth:`ClusterMixin.try_periodic` hands the work ``name`` to exactly one worker per ``period``: its
    ``periodic_runs`` row records when it last ran, and who runs it now. On PostgreSQL the run is also
    guarded by a session advisory lock, held on a connection of its own until
    :meth:`ClusterMixin.end_periodic`, which the server releases by itself if the worker dies; on SQLite (one
    machine) the row's ``running_until`` is the claim, and a dead worker's claim lapses at that time::

        claim = store.try_periodic("cleanup", worker="w1", period=timedelta(hours=1), now=now,
                                   hold=timedelta(minutes=5))
        if claim is not None:
            try:
                clean_up()
            finally:
                store.end_periodic(claim, now=datetime.now(UTC), done=True)
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, RowMapping, case, func, literal, select

from scheduler.store.base import StoreBase
from scheduler.store.dialect import one_machine, release_session_lock, try_session_lock
from scheduler.store.models import DeliveryState, utc
from scheduler.store.schema import deliveries, periodic_runs, workers


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as last seen, and the deliveries it holds (``sending``, claimed by it)."""

    id: str
    host: str
    pid: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    holding: tuple[str, ...] = ()

    def alive(self, now: datetime, silence: timedelta) -> bool:
        """Running, as far as the outbox can tell: not stopped, and a heartbeat within ``silence``."""
        return self.stopped_at is None and now - self.heartbeat_at <= silence


@dataclass
class PeriodicClaim:
    """The right to run the periodic work ``name`` now; hand it back with ``end_periodic``."""

    name: str
    worker: str
    started_at: datetime
    previous_run: datetime | None
    lock: Connection | None = field(default=None, repr=False)
    """PostgreSQL: the connection holding the session advisory lock."""


def _not_before_start(now: datetime) -> ColumnElement[datetime]:
    """``now`` as a worker's heartbeat: its ``started_at`` when that is later (its clock stepped back)."""
    moment = utc(now)
    later = workers.c.started_at > literal(moment, workers.c.started_at.type)
    return case((later, workers.c.started_at), else_=literal(moment, workers.c.heartbeat_at.type))


def _worker(row: RowMapping, holding: Mapping[str, builtins.list[str]]) -> WorkerInfo:
    return WorkerInfo(
        id=row["id"],
        host=row["host"],
        pid=row["pid"],
        started_at=row["started_at"],
        heartbeat_at=row["heartbeat_at"],
        stopped_at=row["stopped_at"],
        holding=tuple(holding.get(row["id"], ())),
    )


class ClusterMixin(StoreBase):
    """Worker heartbeats and once-per-period claims (see the module docstring)."""

    @property
    def one_machine(self) -> bool:
        """Whether every worker of this outbox runs on this machine (see
        :func:`scheduler.store.dialect.one_machine`)."""
        return one_machine(self.engine)

    def register_worker(self, worker: str, *, host: str, pid: int, now: datetime) -> None:
        """Record that ``worker`` (re)started now on ``host`` as ``pid``."""
        now = utc(now)
        values = {"host": host, "pid": pid, "started_at": now, "heartbeat_at": now, "stopped_at": None}
        with self._write() as connection:
            updated = connection.execute(workers.update().where(workers.c.id == worker).values(**values))
            if updated.rowcount == 0:
                connection.execute(workers.insert().values(id=worker, **values))

    def heartbeat(self, worker: str, *, now: datetime) -> bool:
        """``worker`` is alive at ``now``; False when it is not registered (pruned: register it again).

        A heartbeat is never recorded before the worker's start: one whose clock stepped back since it
        started beats at its start instead. So a worker's ``heartbeat_at`` is at or after its
        ``started_at``, always, and the workers seen since a moment include every worker started since
        then (``status --check`` reads back no further, :meth:`workers_seen`)."""
        with self._write() as connection:
            updated = connection.execute(
                workers.update()
                .where(workers.c.id == worker)
                .values(heartbeat_at=_not_before_start(now), stopped_at=None)
            )
            return updated.rowcount == 1

    def stop_worker(self, worker: str, *, now: datetime) -> None:
        """``worker`` stopped cleanly (it stays listed as stopped until it is pruned); its last heartbeat is
        ``now``, or its start if that is later (see :meth:`heartbeat`)."""
        with self._write() as connection:
            connection.execute(
                workers.update()
                .where(workers.c.id == worker)
                .values(heartbeat_at=_not_before_start(now), stopped_at=utc(now))
            )

    def end_leases_of(self, worker_ids: Iterable[str], *, now: datetime) -> int:
        """End now the leases of the ``sending`` deliveries that ``worker_ids`` hold (workers known to be
        dead): they are then reconciled at once (:meth:`claim_stale`) instead of when their leases run out.
        How many."""
        ids = builtins.list(worker_ids)
        if not ids:
            return 0
        now = utc(now)
        with self._write() as connection:
            ended = connection.execute(
                deliveries.update()
                .where(
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.claimed_by.in_(ids),
                    deliveries.c.lease_until.is_(None) | (deliveries.c.lease_until > now),
                )
                .values(lease_until=now)
            )
            return int(ended.rowcount)

    def workers(self, *, since: datetime | None = None) -> builtins.list[WorkerInfo]:
        """Workers with a heartbeat at or after ``since`` (default: all), newest first, and their holdings."""
        query = select(workers).order_by(workers.c.heartbeat_at.desc(), workers.c.id)
        if since is not None:
            query = query.where(workers.c.heartbeat_at >= utc(since))
        with self._read() as connection:
            rows = connection.execute(query).mappings().all()
            holding = self._holding(connection, [row["id"] for row in rows])
        return [_worker(row, holding) for row in rows]

    def workers_of_host(self, host: str, *, limit: int, offset: int = 0) -> builtins.list[WorkerInfo]:
        """Up to ``limit`` workers registered on ``host``, the most recently started first, skipping the
        first ``offset``; without their holdings. One range of ``ix_workers_host_started``, whatever the
        other hosts and the older runs of this one left in ``workers``."""
        query = (
            select(workers)
            .where(workers.c.host == host)
            .order_by(workers.c.started_at.desc(), workers.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self._read() as connection:
            rows = connection.execute(query).mappings().all()
        return [_worker(row, {}) for row in rows]

    def last_heartbeat(self) -> datetime | None:
        """The newest heartbeat of any worker; None when no worker ever registered. One index look-up."""
        with self._read() as connection:
            newest = connection.execute(select(func.max(workers.c.heartbeat_at))).scalar()
        return None if newest is None else utc(newest)

    def last_start_not_stopped(self) -> datetime | None:
        """When the worker started that started last of those not stopped (running, or killed before it
        could stop); None when every worker stopped (or none ever registered). One look-up in
        ``ix_workers_not_stopped``, which holds only the rows without ``stopped_at``."""
        query = select(func.max(workers.c.started_at)).where(workers.c.stopped_at.is_(None))
        with self._read() as connection:
            started = connection.execute(query).scalar()
        return None if started is None else utc(started)

    def workers_seen(
        self, *, since: datetime | None, before: datetime | None = None, limit: int | None = None
    ) -> builtins.list[WorkerInfo]:
        """The workers whose last heartbeat is at or after ``since`` (None: any time) and before ``before``
        (None: any time after), the most recently seen first (ties by id), up to ``limit``; without their
        holdings. One range of ``ix_workers_heartbeat``: a caller reads back in time only as far as it
        needs."""
        query = select(workers).limit(limit)
        if since is not None:
            query = query.where(workers.c.heartbeat_at >= utc(since))
        if before is not None:
            query = query.where(workers.c.heartbeat_at < utc(before))
        with self._read() as connection:
            rows = (
                connection.execute(query.order_by(workers.c.heartbeat_at.desc(), workers.c.id))
                .mappings()
                .all()
            )
        return [_worker(row, {}) for row in rows]

    def holders_on(self, host: str) -> builtins.list[WorkerInfo]:
        """The workers of ``host`` that hold deliveries in ``sending``, with what each holds, the most
        recently started first. Read from the deliveries in ``sending`` (a few per channel), not from every
        row of ``workers``."""
        with self._read() as connection:
            holding = self._holding(connection)
            if not holding:
                return []
            rows = (
                connection.execute(
                    select(workers)
                    .where(workers.c.host == host, workers.c.id.in_(builtins.list(holding)))
                    .order_by(workers.c.started_at.desc(), workers.c.id.desc())
                )
                .mappings()
                .all()
            )
        return [_worker(row, holding) for row in rows]

    @staticmethod
    def _holding(
        connection: Connection, ids: builtins.list[str] | None = None
    ) -> dict[str, builtins.list[str]]:
        """The deliveries in ``sending`` by the worker holding them (of ``ids``; default: any worker)."""
        if ids is not None and not ids:
            return {}
        query = select(deliveries.c.claimed_by, deliveries.c.id).where(
            deliveries.c.state == DeliveryState.SENDING.value
        )
        if ids is None:
            query = query.where(deliveries.c.claimed_by.is_not(None))
        else:
            query = query.where(deliveries.c.claimed_by.in_(ids))
        out: dict[str, builtins.list[str]] = {}
        for owner, delivery_id in connection.execute(
            query.order_by(deliveries.c.scheduled_at, deliveries.c.id)
        ).all():
            out.setdefault(owner, []).append(delivery_id)
        return out

    def prune_workers(self, *, before: datetime) -> int:
        """Forget workers not seen since ``before`` that hold nothing; how many."""
        with self._write() as connection:
            holders = select(deliveries.c.claimed_by).where(
                deliveries.c.state == DeliveryState.SENDING.value, deliveries.c.claimed_by.is_not(None)
            )
            deleted = connection.execute(
                workers.delete().where(workers.c.heartbeat_at < utc(before), workers.c.id.not_in(holders))
            )
            return int(deleted.rowcount)

    # --- periodic work -------------------------------------------------------------------------------------

    def try_periodic(
        self, name: str, *, worker: str, period: timedelta, now: datetime, hold: timedelta
    ) -> PeriodicClaim | None:
        """The claim to run ``name`` now, or None when it ran less than ``period`` ago or runs elsewhere.

        ``hold`` bounds a run on SQLite: a worker that dies mid-run blocks the work until then.
        """
        now = utc(now)
        lock = self.engine.connect()
        try:
            locked = try_session_lock(lock, name)
            lock.commit()  # the session lock outlives the transaction: do not sit idle in one
            if locked is not True:
                lock.close()  # SQLite (None): no lock to hold; False: another worker runs it now
                if locked is False:
                    return None
            claimed, previous = self._claim_row(
                name, worker=worker, period=period, now=now, hold=hold, locked=bool(locked)
            )
        except BaseException:
            lock.close()
            raise
        if locked:
            if not claimed:
                self._unlock(lock, name)
                return None
            return PeriodicClaim(name, worker, now, previous, lock)
        return PeriodicClaim(name, worker, now, previous) if claimed else None

    def _claim_row(
        self, name: str, *, worker: str, period: timedelta, now: datetime, hold: timedelta, locked: bool
    ) -> tuple[bool, datetime | None]:
        """Take the run row when the work is due: (taken, the previous run's start)."""
        with self._write() as connection:
            query = select(periodic_runs).where(periodic_runs.c.name == name)
            row = connection.execute(query).mappings().first()
            values = {"last_run_at": now, "run_by": worker, "running_until": now + hold}
            if row is None:
                connection.execute(periodic_runs.insert().values(name=name, **values))
                return True, None
            last, running_until = row["last_run_at"], row["running_until"]
            if last is not None and last + period > now:
                return False, last
            if not locked and running_until is not None and running_until > now:
                return False, last  # SQLite: another worker's run is within its hold time
            connection.execute(periodic_runs.update().where(periodic_runs.c.name == name).values(**values))
            return True, last

    def end_periodic(self, claim: PeriodicClaim, *, now: datetime, done: bool = True) -> None:
        """The run of ``claim`` ended at ``now``; ``done=False`` (it failed): the next look runs it again."""
        values: dict[str, object] = {"running_until": None, "finished_at": utc(now)}
        if not done:
            values["last_run_at"] = claim.previous_run
        try:
            with self._write() as connection:
                connection.execute(
                    periodic_runs.update()
                    .where(periodic_runs.c.name == claim.name, periodic_runs.c.run_by == claim.worker)
                    .values(**values)
                )
        finally:
            if claim.lock is not None:
                lock, claim.lock = claim.lock, None
                self._unlock(lock, claim.name)

    @staticmethod
    def _unlock(lock: Connection, name: str) -> None:
        """Release the session lock; if that fails, drop the connection (closing it releases the lock) rather
        than hand a locked session back to the pool."""
        try:
            release_session_lock(lock, name)
            lock.commit()
        except BaseException:
            lock.invalidate()
            raise
        finally:
            lock.close()
