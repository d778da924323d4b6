"""Every backend-neutral store test runs twice: on a real SQLite file and on a real PostgreSQL database.

``store`` and ``db_url`` are parametrized over ``sqlite`` and ``postgres`` (the latter marked ``postgres``:
skipped with a reason when the server binaries are missing, see ``tests/pg.py``). Tests that look at SQLite
itself (pragmas, ``EXPLAIN QUERY PLAN``, the file) use ``sqlite_url`` and run once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.store import Store

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'outbox.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """An empty outbox database: a SQLite file in tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_url
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(db_url, root=tmp_path)
    yield opened
    opened.close()
