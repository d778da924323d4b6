"""THE one place for database-specific behaviour: SQLite pragmas and locking, PostgreSQL row locks.

SQLite
    The file holds article text and error reasons, so it is private to its user (:func:`make_private`): a new
    file is created ``0600`` (its ``-wal`` and ``-shm`` files take its permissions) in a folder created
    ``0700``. The workspace's own ``var/`` folder and the files tagcast made there are tightened to that when
    an older tagcast left them readable by others; a folder or database file elsewhere that already exists
    keeps the permissions its owner gave it (it may be shared with a group on purpose).

    WAL journal (readers never block the writer), ``synchronous = FULL`` (a commit survives a power cut:
    the journal saved before a network call must; but see :func:`relaxed`), a busy timeout, and foreign
    keys. pysqlite's own
    transaction handling is switched off so that SQLAlchemy's ``begin`` event can emit the ``BEGIN``:
    ``BEGIN IMMEDIATE`` for writes (taken through :func:`writer`), so that two processes claiming from one
    file are serialised at the start of the transaction instead of failing at commit, and a plain deferred
    ``BEGIN`` for reads, which run beside a writer thanks to WAL.

PostgreSQL
    Claims lock the chosen row with ``FOR UPDATE SKIP LOCKED`` (:func:`select_for_claim`) and take a
    transaction-scoped advisory lock per channel (:func:`lock_channel`), so that two workers never send two
    posts of one channel at once. Migrations take a transaction-scoped advisory lock first
    (:func:`lock_migrations`), so that workers starting together on a new database do not both create the
    tables. Cluster-wide periodic work holds a session advisory lock while it runs
    (:func:`try_session_lock`): it is released by the server when the worker's connection dies, so a crash
    never blocks the work until some expiry. Connections are checked before use (``pool_pre_ping``): a
    restarted server must not fail the next claim.

    Advisory locks use the two-key form ``(namespace, key)``: :data:`LOCK_CHANNEL`, :data:`LOCK_MIGRATIONS`
    and :data:`LOCK_PERIODIC` keep tagcast's locks apart from each other and from other users' one-key locks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Select, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from scheduler.store.errors import StoreError
from scheduler.store.prepared import driver_cursor
from scheduler.store.sqlite_file import (
    BUSY_TIMEOUT_MS,
    PRIVATE_FOLDER,
    configure_connection,
    make_private,
)

WRITE_OPTION = "tagcast_write"
"""Execution option that marks a write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
RELAXED_OPTION = "tagcast_relaxed"
"""Execution option of a write transaction whose commit need not wait for the disk (:func:`relaxed`)."""

LOCK_CHANNEL = 0x7461_6701
"""Advisory lock namespace: one channel's claims (key: ``hashtext(channel)``)."""
LOCK_MIGRATIONS = 0x7461_6702
"""Advisory lock namespace: schema migrations (key 0)."""
LOCK_PERIODIC = 0x7461_6703
"""Advisory lock namespace: cluster-wide periodic work (key: ``hashtext(name)``)."""


def resolve_url(url: str, root: Path) -> URL:
    """Parse ``url``; a relative SQLite path is made relative to ``root`` and its folder is created."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError and ValueError subclasses
        raise StoreError(
            f"store.url {url!r} is not a database URL: {exc}",
            hint='use e.g. "sqlite:///var/tagcast.db" or "postgresql+psycopg://user@host/db"',
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        return parsed
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return parsed
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = root / path
    try:
        path.parent.mkdir(mode=PRIVATE_FOLDER, parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder of the outbox database {path}: {exc.strerror}",
            hint="check store.url in config/tagcast.toml and the folder's permissions",
        ) from exc
    return parsed.set(database=str(path))


def create_store_engine(url: str, root: Path) -> Engine:
    """An Engine for the outbox with this module's per-dialect behaviour installed (a new SQLite file is
    private to its user: :func:`make_private`)."""
    parsed = resolve_url(url, root)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        make_private(Path(database), root)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        if (parsed.database or "") in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as exc:  # a missing driver is an ImportError / NoSuchModuleError
        raise StoreError(
            f"cannot use store.url {parsed.render_as_string(hide_password=True)}: {exc}",
            hint="install the driver (PostgreSQL: pip install 'tagcast[postgres]') or use a sqlite:/// URL",
        ) from exc
    if engine.dialect.name == "sqlite":
        _install_sqlite_events(engine)
    return engine


def pins_connections(engine: Engine) -> bool:
    """Whether a thread that makes many transactions (the service's store thread) may keep one connection
    for all of them (:meth:`~scheduler.store.base.StoreBase.pinned`) instead of taking one from the pool
    for each: on SQLite, where taking one costs more than a short transaction's statements. Not on
    PostgreSQL, whose connections are checked before each use (``pool_pre_ping``), so that a restarted
    server does not fail the next claim."""
    return engine.dialect.name == "sqlite"


def transaction_options(*, write: bool, durable: bool = True) -> dict[str, bool]:
    """The execution options that make a connection's next transaction a read, a write or a relaxed write
    (:func:`writer`, :func:`relaxed`)."""
    return {WRITE_OPTION: write, RELAXED_OPTION: write and not durable}


def writer(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions are write transactions (``BEGIN IMMEDIATE``)."""
    return engine.execution_options(**transaction_options(write=True))


def relaxed(engine: Engine) -> Engine:
    """:func:`writer` for transactions that may be lost in a power cut, never in a crash of the process:
    SQLite commits them with ``synchronous = NORMAL`` (written to the WAL, not flushed to the disk).

    What is guaranteed: SQLite's WAL is replayed after a power cut up to the last commit that reached the
    disk, in commit order, and a ``synchronous = FULL`` commit flushes every commit before it. So a relaxed
    commit is on disk at the latest with the next full one (a claim, a journal, any operator action) or the
    next checkpoint; a power cut before that loses it, and whatever was committed after it, but never
    anything a full commit made durable, nor anything of a commit it lost only in part. Only receipts that
    claim nothing are recorded this way (:meth:`~scheduler.store.dispatch_ops.DispatchMixin.mark_sent`;
    one that claims the slot's next post in the same transaction is a full commit): losing one leaves
    its delivery in ``sending``, claimed, and it is reconciled after the restart like a send the power cut
    interrupted, which never sends a post twice on a network without idempotency keys (there the adapter's
    journal, saved in a full commit before the network call, tells what went out, or the delivery becomes
    ``unknown``). Losing a claim instead could send a post twice, so claims are full commits. PostgreSQL
    commits are unchanged.
    """
    return engine.execution_options(**transaction_options(write=True, durable=False))


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        configure_connection(dbapi_connection)  # SQLAlchemy's "begin" event emits BEGIN below

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # On the driver's cursor, not exec_driver_sql: a write transaction begins for every post, and this
        # saves SQLAlchemy's execution machinery twice each time.
        options = connection.get_execution_options()
        if not options.get(WRITE_OPTION, False):
            with driver_cursor(connection, "BEGIN"):
                return
        synchronous = "NORMAL" if options.get(RELAXED_OPTION, False) else "FULL"
        if connection.info.get("synchronous", "FULL") != synchronous:  # only outside a transaction
            with driver_cursor(connection, f"PRAGMA synchronous = {synchronous}"):
                connection.info["synchronous"] = synchronous
        with driver_cursor(connection, "BEGIN IMMEDIATE"):
            pass


def select_for_claim(stmt: Select[Any], connection: Connection) -> Select[Any]:
    """Lock the rows a claim reads: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL.

    SQLite needs nothing here: the claim runs in a ``BEGIN IMMEDIATE`` transaction, which already excludes
    every other writer.
    """
    if connection.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def is_postgresql(connection: Connection | Engine) -> bool:
    return connection.dialect.name == "postgresql"


def one_machine(connection: Connection | Engine) -> bool:
    """Whether every worker of this outbox runs on one machine (SQLite: the file is local to it), so that a
    worker of this host whose process is gone is surely dead. Not PostgreSQL: workers of other machines (or
    containers with a host name alike) share it, and a pid says nothing about them."""
    return not is_postgresql(connection)


def locks_rows(connection: Connection) -> bool:
    """Whether a claim must lock the rows it read (PostgreSQL, with :func:`select_for_claim`); SQLite's
    ``BEGIN IMMEDIATE`` transaction already has the database to itself, so what it read stays as read."""
    return is_postgresql(connection)


def lock_channel(connection: Connection, channel: str) -> bool:
    """Whether this transaction may claim for ``channel``: on PostgreSQL a per-channel advisory lock held
    until commit (another worker claiming the same channel gets False and skips it); SQLite is already
    serialised."""
    if is_postgresql(connection):
        key = func.hashtext(channel)
        locked = connection.execute(select(func.pg_try_advisory_xact_lock(LOCK_CHANNEL, key))).scalar()
        return bool(locked)
    return True


def lock_migrations(connection: Connection) -> None:
    """Wait until no other process migrates (PostgreSQL; held until this transaction ends). SQLite's
    ``BEGIN IMMEDIATE`` already does this."""
    if is_postgresql(connection):
        connection.execute(select(func.pg_advisory_xact_lock(LOCK_MIGRATIONS, 0)))


def try_session_lock(connection: Connection, name: str) -> bool | None:
    """Take the session advisory lock of the periodic work ``name`` on PostgreSQL (True when this session
    got it, False when another holds it); None on SQLite, which has no such locks (a claim row is used)."""
    if not is_postgresql(connection):
        return None
    key = func.hashtext(name)
    return bool(connection.execute(select(func.pg_try_advisory_lock(LOCK_PERIODIC, key))).scalar())


def release_session_lock(connection: Connection, name: str) -> None:
    """Release what :func:`try_session_lock` took (PostgreSQL only)."""
    if is_postgresql(connection):
        connection.execute(select(func.pg_advisory_unlock(LOCK_PERIODIC, func.hashtext(name))))


def snapshot(engine: Engine) -> Engine:
    """The engine for reads that must all see one moment (copying a live outbox): ``REPEATABLE READ`` on
    PostgreSQL; SQLite's deferred ``BEGIN`` under WAL already reads one snapshot per transaction."""
    if is_postgresql(engine):
        return engine.execution_options(isolation_level="REPEATABLE READ")
    return engine


def reset_sequences(connection: Connection, table: str, column: str = "id") -> None:
    """After rows were inserted with explicit ids, make the next generated id follow the largest one
    (PostgreSQL's serial sequence; SQLite's rowid needs nothing)."""
    if is_postgresql(connection):
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        )
