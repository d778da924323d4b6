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


NOWHERE_PROXY = "http://127.0.0.1:9"
"""A closed port on loopback: what any request to the internet is sent to in tests (refused at once)."""


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every request httpx (and the programs tests start) would send beyond loopback goes to a closed port,
    so a link card's page on example.org, say, is "cannot connect" at once instead of a real request. The
    fakes on 127.0.0.1 and localhost are reached directly."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, NOWHERE_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost,::1")
    yield


WriteWorkspace = Callable[..., Path]


@pytest.fixture
def make_workspace(tmp_path: Path) -> WriteWorkspace:
    """Write ``config/tagcast.toml`` (dedented), any ``posts`` files and any ``templates`` (as given, into
    ``config/templates``) into a new workspace folder."""

    def write(
        config: str,
        posts: dict[str, str] | None = None,
        *,
        folder: str = "ws",
        templates: dict[str, str] | None = None,
    ) -> Path:
        root = tmp_path / folder
        (root / "config").mkdir(parents=True, exist_ok=True)
        for name, text in (templates or {}).items():
            (root / "config" / "templates").mkdir(exist_ok=True)
            (root / "config" / "templates" / name).write_text(text, encoding="utf-8")
        (root / "posts").mkdir(exist_ok=True)
        (root / "config" / "tagcast.toml").write_text(textwrap.dedent(config), encoding="utf-8")
        for name, text in (posts or {}).items():
            path = root / "posts" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write
