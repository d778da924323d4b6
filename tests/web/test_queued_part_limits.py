"""The dashboard's card of a queued delivery shows each part against its own limit, as the preview card
does: a Telegram post with an image has its first part (the photo's caption) against 1024 and its later
parts against 4096; a Mastodon post is unchanged. Queued by ``tagcast queue add``; real HTTP into the app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from caption_workspace import write_caption_workspace
from typer.testing import CliRunner

from scheduler.cli.app import app as cli
from scheduler.config.loader import load_workspace
from scheduler.store import Delivery, Store
from scheduler.web.app import create_app

from .conftest import NOW, Client

LENGTH_LINE = re.compile(r'<p class="length[^"]*">([^<]*)</p>')


@pytest.fixture
def queued(tmp_path: Path) -> Iterator[tuple[Client, dict[str, Delivery]]]:
    root = write_caption_workspace(tmp_path / "ws")
    added = CliRunner().invoke(cli, ["queue", "add", "--now", NOW.isoformat(), "--config", str(root)])
    assert added.exit_code == 0, added.output
    workspace = load_workspace(str(root))
    with Store.open(workspace.settings.store.url, root=root) as store:
        client = Client(create_app(workspace, store, clock=lambda: NOW))
        yield client, {delivery.channel: delivery for delivery in store.list()}


def length_lines(page: str) -> list[str]:
    return [" ".join(line.split()) for line in LENGTH_LINE.findall(page)]


def test_a_queued_telegram_post_with_an_image_shows_1024_for_its_caption_and_4096_after(
    queued: tuple[Client, dict[str, Delivery]],
) -> None:
    client, deliveries = queued
    tg = deliveries["tg"]
    first, second, third = tg.lengths
    page = client.get(f"/deliveries/{tg.id}")
    assert page.status_code == 200
    assert length_lines(page.text) == [
        f"{first} / 1024 utf16",
        f"{second} / 4096 utf16",
        f"{third} / 4096 utf16",
    ]
    assert "over the limit" not in page.text
    preview = client.get("/posts")
    assert preview.status_code == 200
    assert set(length_lines(page.text)) <= set(length_lines(preview.text)), "as the preview card shows it"


def test_a_queued_mastodon_post_shows_its_one_limit(queued: tuple[Client, dict[str, Delivery]]) -> None:
    client, deliveries = queued
    masto = deliveries["masto"]
    [length] = masto.lengths
    page = client.get(f"/deliveries/{masto.id}")
    assert length_lines(page.text) == [f"{length} / 500 {masto.unit}"]
