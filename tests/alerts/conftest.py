"""Workspaces, fakes and ``tagcast serve`` processes for the alert, health and log tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.telegram import TelegramFake
from service.conftest import DUE, Site, site, toml_value, webhook  # noqa: F401  (fixtures)
from service.processes import Serve

from scheduler.config.loader import Workspace, load_workspace

PAST = DUE


@pytest.fixture
def telegram() -> Iterator[TelegramFake]:
    with TelegramFake().running() as fake:
        yield fake


def alerts_table(channels: list[str], **keys: object) -> str:
    """An ``[alerts]`` table (short windows for tests)."""
    values: dict[str, object] = {"channels": channels, "group_window": "1s", **keys}
    return "[alerts]\n" + "".join(f"{key} = {toml_value(value)}\n" for key, value in values.items())


def workspace_with(tmp: Path, config: str, env: dict[str, str] | None = None) -> Workspace:
    """A workspace folder with ``config`` (and ``env`` as its .env file), loaded."""
    (tmp / "config").mkdir(parents=True, exist_ok=True)
    (tmp / "posts").mkdir(exist_ok=True)
    (tmp / "config" / "tagcast.toml").write_text(config, encoding="utf-8")
    if env:
        (tmp / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    return load_workspace(tmp / "config" / "tagcast.toml")


def endpoint_url(serve: Serve) -> str:
    """The ``--http`` address the service logged (it was asked for port 0)."""
    serve.wait_for_log("serving /healthz and /metrics on")
    match = re.search(r"serving /healthz and /metrics on (http://[\d.]+:\d+)", serve.output)
    assert match is not None, serve.output
    return match.group(1)


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10)
