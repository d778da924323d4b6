"""A workspace with posts for three networks, an outbox with their deliveries, and the dashboard over it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from daily_workspace import DAILY_CONFIG
from link_site import site  # noqa: F401  (fixture: the fake web site of link pages)
from starlette.applications import Starlette

from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.store import Store
from scheduler.web.app import create_app

NOW = datetime(2027, 1, 11, 7, 0, tzinfo=UTC)  # Monday 2027-W02, 08:00 in Berlin
"""The dashboard's clock: the next slots are 09:00 and 18:00 Berlin time, from Monday 11 January 2027."""
BASE = "http://127.0.0.1:8464"
REPO_ROOT = Path(__file__).resolve().parents[2]

CONFIG = (
    DAILY_CONFIG
    + """
[channels.bsky]
network = "bluesky"
handle = "alice.test"
template = "post.j2"

[channels.masto]
network = "mastodon"
base_url = "https://social.example"
template = "post.j2"

[[rules]]
name = "history"
tags = ["History"]
channels = ["file", "bsky", "masto"]
"""
)

TEMPLATE = "{{ title }}\n\n{{ body }}\n{{ url }}\n{% for tag in tags %}{{ tag }} {% endfor %}"

POSTS = {
    "alpha.md": "---\ntitle: Alpha <b>story</b>\nurl: https://example.org/alpha\n"
    "tags: [History, Bronze]\n---\n\n"
    "Divers found it in 1900, says @curator@museum.example. See example.com too.\n",
    "bravo.md": "---\ntitle: Bravo story\nurl: https://example.org/bravo\ntags: [History]\n---\n\n"
    "The second body, with a <script>alert(1)</script> that must stay text.\n",
}


def write_workspace(root: Path, posts: dict[str, str] = POSTS) -> Path:
    (root / "config" / "templates").mkdir(parents=True, exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    (root / "config" / "templates" / "post.j2").write_text(TEMPLATE, encoding="utf-8")
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return write_workspace(tmp_path / "ws")


@pytest.fixture
def store(workspace: Path) -> Iterator[Store]:
    """The workspace's outbox with every post queued as `tagcast queue add` queues it at NOW."""
    loaded = load_workspace(str(workspace))
    with Store.open(loaded.settings.store.url, root=workspace) as opened:
        report = ingest(loaded, opened, None, now=NOW)
        assert report.ok, report
        yield opened


@pytest.fixture
def app(workspace: Path, store: Store) -> Starlette:
    return create_app(load_workspace(str(workspace)), store, clock=lambda: NOW)


class Client:
    """Real HTTP requests into the ASGI app (httpx's ASGITransport), one event loop per request."""

    def __init__(self, app: Starlette, base_url: str = BASE) -> None:
        self.app = app
        self.base_url = base_url

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url=self.base_url) as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(send())

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)


@pytest.fixture
def client(app: Starlette) -> Client:
    return Client(app)
