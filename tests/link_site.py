"""The fixtures of the link card tests, imported by name where they are used (``cards/conftest.py``, the
card tests of ``media`` and ``web``): ``site``, the fake web site of :mod:`fakes.pages` on loopback, and
``store``, a real outbox (an SQLite file in ``var/``) that remembers the pages read."""

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
