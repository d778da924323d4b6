"""A throw-away PostgreSQL cluster for the tests that need a real server (marker ``postgres``).

``postgres_server`` (session scope) runs ``initdb`` on a temporary folder and starts ``postgres`` on a free
loopback port with ``fsync=off`` and its Unix socket in that folder; at the end it stops the server and
removes the folder. Each test gets its own empty database from ``pg_url`` (created, and dropped after).

Finding the server binaries: ``$PG_BINDIR``, then ``initdb`` on ``PATH``, then ``pg_config --bindir``, then
the newest ``/usr/lib/postgresql/<version>/bin`` (where Debian's ``postgresql`` package puts them, off
``PATH``). Missing binaries skip the test with the reason, except when ``CI=true``: CI must run these tests,
so there a missing server fails the test instead.

``initdb`` refuses to run as root. As root (CI containers, this machine), the cluster runs as an unprivileged
user: ``postgres`` when that account exists (Debian's package creates it), else ``nobody``. The folder is
created in the system temporary folder (world-traversable ``/tmp``) and handed over to that user with
``chown``; the server is started through ``subprocess`` with ``user=``/``group=`` (no ``su``/``runuser``
needed).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

DATABASE = "tagcast_test"
SUPERUSER = "tagcast"
SERVER_OPTIONS = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
"""Speed over durability: a test cluster is thrown away. ``bench/scale.py`` passes ``durable=True``."""


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_bindir() -> Path | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``; None when the server is not installed."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)[::-1]]
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def unavailable(reason: str) -> NoReturn:
    """Skip (or, under CI, fail) the test that needs PostgreSQL."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but PostgreSQL cannot be used: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunAs:
    """Who runs the server: this process, or (when root) an unprivileged account."""

    uid: int | None = None
    gid: int | None = None
    name: str = ""

    @classmethod
    def pick(cls) -> RunAs:
        if os.geteuid() != 0:
            return cls()
        for name in ("postgres", "nobody"):
            with contextlib.suppress(KeyError):
                entry = pwd.getpwnam(name)
                return cls(entry.pw_uid, entry.pw_gid, name)
        raise RuntimeError("running as root and there is neither a 'postgres' nor a 'nobody' account")

    def kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


@dataclass
class PostgresServer:
    """A running throw-away cluster; ``url(database)`` gives SQLAlchemy URLs for it."""

    bindir: Path
    folder: Path
    port: int
    run_as: RunAs
    options: tuple[str, ...] = SERVER_OPTIONS
    databases: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        return subprocess.run(
            list(args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
            cwd=self.folder,
            **self.run_as.kwargs(),
        )

    def init(self) -> None:
        result = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def start(self) -> None:
        network = ("-c", "listen_addresses=127.0.0.1", "-p", str(self.port), "-k", str(self.folder))
        pg_ctl = (str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(self.data))
        result = self._run(*pg_ctl, "-l", str(self.log), "-o", " ".join((*self.options, *network)))
        if result.returncode != 0:
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed ({result.returncode}):\n{result.stderr}\n{log}")

    def stop(self) -> None:
        """Stop the server at once; ``pg_ctl stop -w`` returns when the server has exited (its
        ``postmaster.pid`` is gone), or fails after 60 s (a guard against a hang)."""
        pg_ctl = (
            str(self.bindir / "pg_ctl"),
            "stop",
            "-w",
            "-t",
            "60",
            "-D",
            str(self.data),
            "-m",
            "immediate",
        )
        self._run(*pg_ctl, timeout=90)

    def remove(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (``CREATE DATABASE`` needs that)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, autocommit=True
        ) as connection:
            connection.execute(sql.encode())

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; its name."""
        name = f"{prefix}_{os.getpid()}_{next(self.databases)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(*, durable: bool = False) -> PostgresServer:
    """initdb + start on a free port; raises RuntimeError with the server's words when it cannot.

    ``durable``: keep PostgreSQL's default fsync and synchronous commit (for benchmarks)."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, via pg_config, "
            "$PG_BINDIR or /usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql)"
        )
    run_as = RunAs.pick()
    folder = Path(tempfile.mkdtemp(prefix="tagcast-pg-"))
    run_as.own(folder)
    last: Exception | None = None
    for _attempt in range(3):  # a free port can be taken between probing and binding
        server = PostgresServer(bindir, folder, free_port(), run_as, () if durable else SERVER_OPTIONS)
        try:
            if not server.data.exists():
                server.init()
            server.start()
        except RuntimeError as exc:
            last = exc
            continue
        try:
            server.execute(f'CREATE DATABASE "{DATABASE}"')
        except BaseException:
            server.remove()
            raise
        return server
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"could not start a throw-away PostgreSQL cluster: {last}")


def require_driver() -> None:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        unavailable("the psycopg driver is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster for the whole session (skipped, or failed under CI, when missing)."""
    require_driver()
    try:
        server = start_server()
    except (RuntimeError, OSError) as exc:  # FileNotFoundError: no binaries; RuntimeError: would not start
        unavailable(str(exc))
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql+psycopg://tagcast@127.0.0.1:PORT/tagcast_test``: the session's shared database."""
    return postgres_server.url()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for one test, dropped afterwards."""
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)
