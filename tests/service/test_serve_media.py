"""``tagcast serve --once`` as a real process sends images and link cards: an article's image reaches a
webhook receiver (its bytes, size and alt text in ``images``) and Bluesky (``app.bsky.embed.images``); a post
with a link and no image gets a Bluesky link card whose thumbnail is the page's ``og:image`` fitted under the
card thumb bound; a post whose image file was deleted after it was queued fails with the reason and is sent
nowhere."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.bluesky import EXTERNAL, IMAGES, BlueskyFake
from fakes.images import ImageServer
from fakes.pages import HTML, PagesFake
from fakes.server import Reply
from fakes.webhook import WebhookFake
from intranet import ALLOW_TOML
from PIL import Image

from scheduler.store import DeliveryState
from tests.media.pictures import noisy_jpeg

from .conftest import DUE, Site, config_text, real_now
from .processes import tagcast

THUMB_MAX = 1_000_000


def post(title: str, url: str, *, image: str | None = None) -> str:
    front = [f"title: {title}", f"url: {url}", "tags: [History]", f"publish_at: {DUE}"]
    if image is not None:
        front += [f"image: {image}", f"image_alt: {title}, photographed from the shore"]
    return "---\n" + "\n".join(front) + "\n---\n\n" + f"{title}: what happened there.\n"


@pytest.fixture
def pds() -> Iterator[BlueskyFake]:
    with BlueskyFake(
        handle="alice.test", password="app-pass-1234", image_max_bytes=2_000_000
    ).running() as fake:
        yield fake


@pytest.fixture
def pages() -> Iterator[PagesFake]:
    with PagesFake().running() as site:
        yield site  # type: ignore[misc]


def test_serve_once_sends_images_with_alt_text_and_a_fitted_link_card(
    site: Site, tmp_path: Path, webhook: WebhookFake, pds: BlueskyFake, pages: PagesFake
) -> None:
    photo = noisy_jpeg(2400, 1600)  # over Bluesky's 1,000,000-byte card thumb: it must be fitted
    assert len(photo) > THUMB_MAX
    (site.root / "posts" / "img").mkdir(parents=True)
    (site.root / "posts" / "img" / "harbour.jpg").write_bytes(noisy_jpeg(800, 600, seed=2))
    (site.root / "posts" / "img" / "gone.jpg").write_bytes(noisy_jpeg(300, 200, seed=3))
    with ImageServer(tmp_path / "tls").running() as images:
        images.files["/big.jpg"] = photo
        page = f'<html><head><meta property="og:image" content="{images.url("/big.jpg")}"></head></html>'
        pages.pages["/battle"] = Reply(200, page.encode(), {"Content-Type": HTML})
        site.write_config(
            config_text(
                {
                    "hook": {"network": "webhook", "url": webhook.url},
                    "bsky": {"network": "bluesky", "base_url": pds.base_url, "handle": "alice.test"},
                }
            )
            + ALLOW_TOML  # the pages and images are on loopback
        )
        site.write_post("harbour.md", post("Harbour", "https://example.org/harbour", image="img/harbour.jpg"))
        site.write_post("battle.md", post("Battle", pages.url("/battle")))
        site.write_post("gone.md", post("Gone", "https://example.org/gone", image="img/gone.jpg"))
        site.ingest(real_now())
        (site.root / "posts" / "img" / "gone.jpg").unlink()  # deleted after it was queued
        done = tagcast(
            "serve",
            "--once",
            cwd=site.root,
            env={"TAGCAST_CHANNELS__BSKY__PASSWORD": "app-pass-1234", "SSL_CERT_FILE": str(images.ca_file)},
        )
        assert images.requests == ["/big.jpg"]
    assert done.returncode == 0, done.stderr

    # the webhook: the harbour photo with its alt text, the battle post bare, nothing of "Gone"
    by_title = {d.body["article"]["title"]: d for d in webhook.deliveries}
    assert sorted(by_title) == ["Battle", "Harbour"]
    [(picture, alt)] = by_title["Harbour"].images
    assert alt == "Harbour, photographed from the shore"
    assert (picture.mime, picture.width, picture.height) == ("image/jpeg", 800, 600)
    assert by_title["Battle"].body["images"] == []

    # Bluesky: the harbour post embeds the image, the battle post a card with a fitted thumbnail
    embeds = {stored.value["text"].split("\n")[0]: stored.value["embed"] for _, stored in pds.posts()}
    assert sorted(embeds) == ["Battle", "Harbour"]
    harbour = embeds["Harbour"]
    assert harbour["$type"] == IMAGES
    [image] = harbour["images"]
    assert image["alt"] == "Harbour, photographed from the shore"
    assert image["aspectRatio"] == {"width": 800, "height": 600}
    battle = embeds["Battle"]
    assert battle["$type"] == EXTERNAL
    assert (battle["external"]["uri"], battle["external"]["title"]) == (pages.url("/battle"), "Battle")
    thumb = pds.blobs[battle["external"]["thumb"]["ref"]["$link"]]
    assert len(thumb.data) <= THUMB_MAX < len(photo)
    fitted = Image.open(io.BytesIO(thumb.data))
    assert fitted.format in ("JPEG", "PNG") and fitted.width * 2 == fitted.height * 3  # same shape, smaller
    assert pages.hits("/battle") == 1

    # the post whose image is gone failed on both channels, with the reason, and reached no one
    gone = [d for d in site.store.list(limit=10) if d.source.endswith("gone.md")]
    assert sorted(d.channel for d in gone) == ["bsky", "hook"]
    for delivery in gone:
        assert delivery.state is DeliveryState.FAILED
        assert delivery.last_error == (
            "image 1 (img/gone.jpg): no such file 'img/gone.jpg' (looked in posts/img/); "
            "write the path relative to the article file"
        )
