"""The SQLite outbox file: private to its user, and how every connection to it is set up.

Shared by the SQLAlchemy engine (:mod:`scheduler.store.dialect`, which explains the choices) and the quick
queue commands' :class:`~scheduler.store.direct.DirectStore`, so that both open the file the same way. Plain
Python: no SQLAlchemy.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 30_000
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` when it is ours and others may read it (never widens, never fails)."""
    uid = getattr(os, "getuid", None)  # POSIX only: elsewhere there are no such modes to tighten
    with contextlib.suppress(OSError):
        info = path.lstat()
        if uid is not None and info.st_uid == uid() and stat.S_IMODE(info.st_mode) & 0o077:
            path.chmod(mode)


def make_private(database: Path, root: Path) -> None:
    """Create the SQLite file ``database`` (its folder exists) ``0600`` unless it exists; in the workspace's
    ``var/`` folder, also tighten that folder to ``0700`` and the database and its side files to ``0600``
    (see :mod:`scheduler.store.dialect` for why only there)."""
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))
        database.chmod(PRIVATE_FILE)  # whatever the umask took away (it never adds)
    except FileExistsError:
        pass
    except OSError:
        return  # SQLite reports what is wrong when it opens the file
    if database.parent == root / "var":
        _tighten(database.parent, PRIVATE_FOLDER)
        for suffix in ("", *SQLITE_SIDE_FILES):
            _tighten(database.with_name(database.name + suffix), PRIVATE_FILE)


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so). SQLite answers "database is locked" at once, without waiting in
    its busy handler, when another connection switches a new file at the same moment (workers starting
    together): try again, up to the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def configure_connection(dbapi_connection: Any) -> None:
    """Set up a new sqlite3 connection to the outbox: transactions begun by the caller (``BEGIN`` for reads,
    ``BEGIN IMMEDIATE`` for writes), a busy timeout, WAL, ``synchronous = FULL`` and foreign keys."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
