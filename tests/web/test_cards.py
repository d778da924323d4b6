"""Cards with what articles will soon carry (images, a link card) and a delivery's receipt: rendered, escaped,
inlined."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import timedelta
from pathlib import Path

from scheduler.adapters.base import Receipt
from scheduler.store import Store
from scheduler.web.cards import Card, Image, LinkCard, inline_image
from scheduler.web.render import environment

from .conftest import NOW, Client


def tiny_png() -> bytes:
    """A valid 1x1 PNG, built here (no binary files in the repository)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\xff\0\0"))
        + chunk(b"IEND", b"")
    )


def render_card(card: Card) -> str:
    template = environment().from_string('{% from "card.html" import card %}{{ card(c, "k") }}')
    return template.render(c=card)


def test_a_local_image_is_inlined_as_a_data_uri_and_keeps_its_alt_text(tmp_path: Path) -> None:
    (tmp_path / "gear.png").write_bytes(tiny_png())
    image = inline_image(tmp_path / "gear.png", 'The "main" gear')
    assert image.data_uri == "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    assert inline_image(tmp_path / "missing.png", "x").data_uri is None
    (tmp_path / "notes.txt").write_text("not an image")
    assert inline_image(tmp_path / "notes.txt", "x").data_uri is None

    card = Card(
        channel="bsky",
        network="bluesky",
        handle="@alice.test",
        title="T",
        source="posts/t.md",
        parts=[],
        limit=300,
        unit="graphemes",
        problems=[],
        when=None,
        when_iso=None,
        images=[image, Image(alt="", data_uri=None)],
        link_card=LinkCard("https://example.org/a", "A <title>", "Desc", "example.org"),
    )
    html = render_card(card)
    assert f'<img src="{image.data_uri}" alt="The &#34;main&#34; gear">' in html
    assert 'role="img" aria-label="image without alt text">Image: no alt text' in html
    assert '<a class="link-card" href="https://example.org/a"' in html
    assert "A &lt;title&gt;" in html


def test_a_sent_deliverys_page_shows_its_receipt_and_offers_no_action(client: Client, store: Store) -> None:
    first_slot = store.list()[0].scheduled_at
    [delivery] = store.claim_due(first_slot, worker="w", lease=timedelta(minutes=5), limit=1)
    receipt = Receipt(
        remote_ids=("at://did:plc:x/app.bsky.feed.post/3k",), url="https://bsky.app/profile/x/post/3k"
    )
    store.mark_sent(delivery.id, receipt, now=NOW + timedelta(hours=1))
    page = client.get(f"/deliveries/{delivery.id}").text
    assert '<a href="https://bsky.app/profile/x/post/3k" rel="noopener noreferrer">' in page
    assert "at://did:plc:x/app.bsky.feed.post/3k" in page
    assert "Nothing to do: it is sent." in page
    assert 'name="csrf"' not in page
    assert "<td>sending</td><td>sent</td>" in page.replace("\n", "")
