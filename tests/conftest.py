"""Shared fixtures: a throw-away workspace and an environment without TAGCAST_* variables."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pg import pg_url, postgres_server, postgres_url  # noqa: F401  (PostgreSQL fixtures, marker "postgres")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def _clean_tagcast_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("TAGCAST_"):
            monkeypatch.delenv(name)
    yield


WriteWorkspace = Callable[..., Path]


@pytest.fixture
def make_workspace(tmp_path: Path) -> WriteWorkspace:
    """Write ``config/tagcast.toml`` (dedented) and any ``posts`` files into a new workspace folder."""

    def write(config: str, posts: dict[str, str] | None = None, *, folder: str = "ws") -> Path:
        root = tmp_path / folder
        (root / "config").mkdir(parents=True, exist_ok=True)
        (root / "posts").mkdir(exist_ok=True)
        (root / "config" / "tagcast.toml").write_text(textwrap.dedent(config), encoding="utf-8")
        for name, text in (posts or {}).items():
            path = root / "posts" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write
