"""The dashboard over an outbox of schema version 7, upgraded when opened: the card of a sent Telegram post
with an image shows its caption against 1024 (not 4096); a Telegram post without an image shows 4096."""

from __future__ import annotations

import re
from pathlib import Path

from caption_workspace import QUEUED_AT, write_version_7_outbox

from scheduler.config.loader import load_workspace
from scheduler.store import Store
from scheduler.web.app import create_app

from .conftest import Client

LENGTH_LINE = re.compile(r'<p class="length[^"]*">([^<]*)</p>')


def length_lines(page: str) -> list[str]:
    return [" ".join(line.split()) for line in LENGTH_LINE.findall(page)]


def test_the_cards_of_an_upgraded_outbox_show_each_part_against_its_own_limit(tmp_path: Path) -> None:
    root = write_version_7_outbox(tmp_path / "ws")
    workspace = load_workspace(str(root))
    with Store.open(workspace.settings.store.url, root=root) as store:
        client = Client(create_app(workspace, store, clock=lambda: QUEUED_AT))
        deliveries = {delivery.channel: delivery for delivery in store.list()}
        tg, tg2 = deliveries["tg"], deliveries["tg2"]
        first, second, third = tg.lengths
        page = client.get(f"/deliveries/{tg.id}")
        assert page.status_code == 200
        assert length_lines(page.text) == [
            f"{first} / 1024 utf16",
            f"{second} / 4096 utf16",
            f"{third} / 4096 utf16",
        ]
        [length] = tg2.lengths
        assert length_lines(client.get(f"/deliveries/{tg2.id}").text) == [f"{length} / 4096 utf16"]
