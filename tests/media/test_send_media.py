"""The send path: ``tagcast serve`` prepares a delivery's images right before the adapter publishes it, from
the article stored in the outbox, and never sends a post without the images it was previewed with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.webhook import WebhookFake
from service.conftest import DUE, Site, config_text, real_now

from scheduler.adapters.base import Outgoing
from scheduler.media.prepare import MediaPreparer
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.store import DeliveryState

from .pictures import oriented_jpeg

ARTICLE = f"""\
---
title: Little ships
tags: [History]
publish_at: {DUE}
image: img/photo.jpg
image_alt: Red over blue
---
Small boats crossed the Channel.
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path / "ws")
    oriented_jpeg(site.root / "posts" / "img" / "photo.jpg")
    site.write_post("ships.md", ARTICLE)
    yield site
    site.close()


def send(site: Site, seen: list[Outgoing]) -> DispatchReport:
    async def go() -> DispatchReport:
        async with httpx.AsyncClient(timeout=5) as http:
            preparer = MediaPreparer(lambda: dispatcher.workspace)

            async def prepare(outgoing: Outgoing) -> Outgoing:
                prepared = await preparer(outgoing)
                seen.append(prepared)
                return prepared

            dispatcher = Dispatcher(
                site.workspace, site.store, http, worker_id="w", clock=real_now, prepare=prepare
            )
            try:
                return await dispatcher.run_due(real_now())
            finally:
                dispatcher.calls.close()

    return asyncio.run(go())


def test_the_stored_article_gives_the_adapter_its_images(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.ingest(real_now())
    seen: list[Outgoing] = []
    report = send(site, seen)
    assert report.count("sent") == 1
    [outgoing] = seen
    [media] = outgoing.media
    assert (media.src, media.alt, media.mime, media.width, media.height) == (
        "img/photo.jpg",
        "Red over blue",
        "image/jpeg",
        20,
        40,
    )
    assert media.path.is_file() and media.path.is_relative_to(site.root / "var" / "media")


def test_an_image_gone_before_the_slot_fails_the_delivery_and_sends_nothing(
    site: Site, webhook: WebhookFake
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.ingest(real_now())
    (site.root / "posts" / "img" / "photo.jpg").unlink()
    report = send(site, [])
    assert report.count("failed") == 1
    [delivery] = site.store.list(channel="hook")
    assert delivery.state is DeliveryState.FAILED
    assert delivery.last_error == (
        "image 1 (img/photo.jpg): no such file 'img/photo.jpg' (looked in posts/img/); "
        "write the path relative to the article file"
    )
    assert webhook.requests == []
