"""A fake web site on loopback and a real outbox (SQLite file; PostgreSQL too where ``db_url`` is used)."""

from __future__ import annotations

from pathlib import Path

import pytest
from link_site import site, store  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'cards.db'}"
    return str(request.getfixturevalue("pg_url"))
