"""A fake web site on loopback and a real outbox (SQLite file; PostgreSQL too where ``db_url`` is used)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.pages import PagesFake

from scheduler.store import Store


@pytest.fixture
def site() -> Iterator[PagesFake]:
    with PagesFake().running() as fake:
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'var' / 'outbox.db'}", root=tmp_path)
    yield opened
    opened.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'cards.db'}"
    return str(request.getfixturevalue("pg_url"))
