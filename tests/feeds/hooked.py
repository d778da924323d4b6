"""A workspace whose one feed source (``history``) is routed to a webhook channel, and one poll of it: what
the feed tests that assert on the queued articles share."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fakes.images import ImageServer
from PIL import Image

from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import poll_source
from scheduler.pipeline import Pipeline
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer

HOOK_CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[channels.hook]
network = "webhook"
url = "https://hooks.example/in"

[[rules]]
tags = ["History"]
channels = ["hook"]

[sources.history]
url = "{url}"
backfill = {backfill}
"""
POLLED_AT = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)


def hook_workspace(make_workspace: WriteWorkspace, server: FeedServer, *, backfill: int = 20) -> Path:
    """A workspace polling ``server``'s ``/history.xml`` for the ``hook`` channel."""
    return make_workspace(HOOK_CONFIG.format(url=server.url("/history.xml"), backfill=backfill))


def polled_articles(server: FeedServer, make_workspace: WriteWorkspace, body: bytes) -> dict[str, Any]:
    """The article of each queued delivery, by source, after one poll of ``body``."""
    server.publish(body)
    root = hook_workspace(make_workspace, server)
    workspace = load_workspace(root / "config" / "tagcast.toml")
    with Store.open(workspace.settings.store.url, root=root) as store, httpx.Client() as client:
        result = poll_source("history", workspace, store, Pipeline(workspace), client, now=POLLED_AT)
        assert result.error is None, result.error
        return {delivery.source: delivery.article for delivery in store.list(limit=50)}


@contextlib.contextmanager
def serving_images(folder: Path, numbers: Iterable[int]) -> Iterator[ImageServer]:
    """An https server holding a small JPEG at ``/<n>.jpg`` for each of ``numbers``: the images a feed names
    as ``https://history.example/<n>.jpg``, which a poll downloads (:func:`polled_with_images`)."""
    with ImageServer(folder).running() as served:
        photo = io.BytesIO()
        Image.new("RGB", (40, 30), "olive").save(photo, "JPEG")
        for number in numbers:
            served.files[f"/{number}.jpg"] = photo.getvalue()
        yield served


def polled_with_images(
    server: FeedServer, images: ImageServer, make_workspace: WriteWorkspace, body: bytes
) -> dict[str, Any]:
    """:func:`polled_articles` of ``body``, its ``https://history.example/`` images served by ``images``."""
    served = body.replace(b"https://history.example/", images.url("/").encode())
    return polled_articles(server, make_workspace, served)
