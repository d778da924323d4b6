"""prepare_media: the one function preview and the send path share, against the real adapters' limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes.images import ImageServer
from intranet import ALLOW_TOML, allow_private

from scheduler.adapters.base import Outgoing
from scheduler.adapters.bluesky import BlueskyAdapter
from scheduler.adapters.mastodon import MastodonAdapter
from scheduler.adapters.slack import SlackAdapter
from scheduler.adapters.telegram import TelegramAdapter
from scheduler.adapters.x import XAdapter
from scheduler.config.loader import load_workspace
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError
from scheduler.media.model import ImageRef
from scheduler.media.prepare import MediaCache, MediaPreparer, prepare_media, sent_images
from scheduler.models import Article

from .pictures import noisy_jpeg, oriented_jpeg

ALLOW = allow_private()  # the image server is on loopback


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    oriented_jpeg(root / "posts" / "img" / "photo.jpg")
    (root / "config").mkdir()
    (root / "config" / "tagcast.toml").write_text(
        '[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n' + ALLOW_TOML, encoding="utf-8"
    )
    return root


def article(*images: ImageRef) -> Article:
    return Article(source="posts/ships.md", title="Ships", body="Text.", images=images)


def bsky(**keys: object) -> ChannelSettings:
    return ChannelSettings(network="bluesky", **keys)  # type: ignore[arg-type]


def test_a_local_image_becomes_media_fitted_to_the_network(root: Path) -> None:
    prepared = prepare_media(
        article(ImageRef("img/photo.jpg", "Red over blue")),
        BlueskyAdapter.media_limits,
        bsky(),
        channel="bsky",
        cache=MediaCache(root, addresses=ALLOW),
    )
    assert prepared.problems == () and prepared.left_out == ()
    [media] = prepared.media
    assert media.to_json() == {
        "src": "img/photo.jpg",
        "alt": "Red over blue",
        "mime": "image/jpeg",
        "width": 20,
        "height": 40,
        "bytes": media.path.stat().st_size,
    }
    assert media.path.is_relative_to(root / "var" / "media" / "files")
    assert media.read_bytes()[:2] == b"\xff\xd8"


def test_missing_alt_text_is_a_problem_unless_the_channel_opts_out(root: Path) -> None:
    cache = MediaCache(root, addresses=ALLOW)
    bare = article(ImageRef("img/photo.jpg"))
    prepared = prepare_media(bare, BlueskyAdapter.media_limits, bsky(), channel="bsky", cache=cache)
    assert prepared.problems == (
        "image 1 (img/photo.jpg): no alt text; describe the image with image_alt (or alt in images), "
        "or set require_alt = false on channel bsky",
    )
    assert len(prepared.media) == 1  # still shown in preview
    opted_out = prepare_media(
        bare, BlueskyAdapter.media_limits, bsky(require_alt=False), channel="bsky", cache=cache
    )
    assert opted_out.problems == ()
    telegram = ChannelSettings(network="telegram")
    no_alt_field = prepare_media(bare, TelegramAdapter.media_limits, telegram, channel="tg", cache=cache)
    assert no_alt_field.problems == ()  # Telegram has no alt text to send


def test_alt_text_over_the_networks_limit_is_a_problem_naming_the_channel(root: Path) -> None:
    long_alt = "A" * 1001
    prepared = prepare_media(
        article(ImageRef("img/photo.jpg", long_alt)),
        XAdapter.media_limits,
        ChannelSettings(network="x"),
        channel="xmain",
        cache=MediaCache(root, addresses=ALLOW),
    )
    assert prepared.problems == (
        "image 1 (img/photo.jpg): the alt text has 1,001 characters; x takes at most 1,000 (channel xmain): "
        "shorten it",
    )


FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
"""One grapheme (a family emoji) of seven code points."""


def test_alt_text_is_counted_in_graphemes_where_the_network_counts_them(root: Path) -> None:
    cache = MediaCache(root)
    at_limit = article(ImageRef("img/photo.jpg", "A" + FAMILY * 1999))  # 2000 graphemes, 13,994 code points
    fits = prepare_media(at_limit, BlueskyAdapter.media_limits, bsky(), channel="bsky", cache=cache)
    assert fits.problems == ()
    assert [item.alt for item in fits.media] == ["A" + FAMILY * 1999]
    over = article(ImageRef("img/photo.jpg", "AB" + FAMILY * 1999))
    refused = prepare_media(over, BlueskyAdapter.media_limits, bsky(), channel="bsky", cache=cache)
    assert refused.problems == (
        "image 1 (img/photo.jpg): the alt text has 2,001 graphemes; bluesky takes at most 2,000 "
        "(channel bsky): shorten it",
    )


def test_alt_text_is_counted_in_code_points_where_the_server_counts_those(root: Path) -> None:
    """Mastodon checks ``description`` with a plain length validation (code points): one family emoji is 7."""
    prepared = prepare_media(
        article(ImageRef("img/photo.jpg", FAMILY * 215)),  # 215 graphemes, 1505 code points
        MastodonAdapter.media_limits,
        ChannelSettings(network="mastodon"),
        channel="masto",
        cache=MediaCache(root),
    )
    assert prepared.problems == (
        "image 1 (img/photo.jpg): the alt text has 1,505 characters; mastodon takes at most 1,500 "
        "(channel masto): shorten it",
    )


def test_a_network_that_takes_no_images_leaves_them_out_and_says_so(root: Path) -> None:
    prepared = prepare_media(
        article(ImageRef("img/photo.jpg")),
        None,
        bsky(),
        channel="bsky",
        cache=MediaCache(root, addresses=ALLOW),
    )
    assert prepared.media == () and prepared.problems == ()
    assert prepared.left_out == ("image 1 (img/photo.jpg) left out: bluesky takes no images",)


def test_a_network_that_fetches_images_itself_is_sent_only_https_ones(
    root: Path, trusted: ImageServer
) -> None:
    trusted.files["/boat.jpg"] = noisy_jpeg(120, 80)
    url = trusted.url("/boat.jpg")
    refs = (ImageRef("img/photo.jpg", "Local"), ImageRef(url, "Remote"))
    kept, left = sent_images(article(*refs), SlackAdapter.media_limits, "slack")
    assert kept == [(2, refs[1])]
    assert [str(item) for item in left] == [
        "image 1 (img/photo.jpg) left out: slack takes only images at a public https address"
    ]
    prepared = prepare_media(
        article(*refs),
        SlackAdapter.media_limits,
        ChannelSettings(network="slack"),
        channel="sl",
        cache=MediaCache(root, addresses=ALLOW),
    )
    [media] = prepared.media
    assert (media.src, media.width, media.height, media.size) == (
        url,
        120,
        80,
        len(trusted.files["/boat.jpg"]),
    )
    assert media.read_bytes() == trusted.files["/boat.jpg"]  # sent as it is: the network fetches it


def test_an_https_image_is_downloaded_once_and_processed(root: Path, trusted: ImageServer) -> None:
    trusted.files["/boat.jpg"] = noisy_jpeg(3000, 2000, quality=95)
    url = trusted.url("/boat.jpg")
    cache = MediaCache(root, addresses=ALLOW)
    for _ in range(2):
        prepared = prepare_media(
            article(ImageRef(url, "A boat")), BlueskyAdapter.media_limits, bsky(), channel="b", cache=cache
        )
        assert prepared.problems == ()
        assert prepared.media[0].size <= 2_000_000
    assert trusted.requests == ["/boat.jpg"]


def test_a_file_gone_or_a_failed_download_is_a_problem(root: Path, trusted: ImageServer) -> None:
    url = trusted.url("/missing.jpg")
    prepared = prepare_media(
        article(ImageRef("img/gone.jpg", "x"), ImageRef(url, "y")),
        BlueskyAdapter.media_limits,
        bsky(),
        channel="bsky",
        cache=MediaCache(root, addresses=ALLOW),
    )
    assert prepared.problems == (
        "image 1 (img/gone.jpg): no such file 'img/gone.jpg' (looked in posts/img/); "
        "write the path relative to the article file",
        f"image 2 ({url}): {url} answered HTTP 404",
    )
    assert prepared.retry


def outgoing(*images: ImageRef) -> Outgoing:
    return Outgoing(
        delivery_id="d1", idempotency_key="k1", parts=("Ships",), article=article(*images), channel="bsky"
    )


def test_the_send_path_fills_outgoing_media_in_a_worker_thread(root: Path) -> None:
    workspace = load_workspace(root / "config" / "tagcast.toml")
    prepare = MediaPreparer(lambda: workspace)
    sent = asyncio.run(prepare(outgoing(ImageRef("img/photo.jpg", "Red over blue"))))
    assert [(m.src, m.alt, m.width, m.height) for m in sent.media] == [
        ("img/photo.jpg", "Red over blue", 20, 40)
    ]
    assert sent.parts == ("Ships",) and sent.delivery_id == "d1"
    plain = outgoing()
    assert asyncio.run(prepare(plain)) is plain


def test_the_send_path_refuses_to_send_without_the_images(root: Path, trusted: ImageServer) -> None:
    workspace = load_workspace(root / "config" / "tagcast.toml")
    prepare = MediaPreparer(lambda: workspace)
    with pytest.raises(PermanentDeliveryError) as permanent:
        asyncio.run(prepare(outgoing(ImageRef("img/photo.jpg"))))
    assert permanent.value.reason.startswith("image 1 (img/photo.jpg): no alt text")
    with pytest.raises(TransientDeliveryError) as transient:
        asyncio.run(prepare(outgoing(ImageRef(trusted.url("/later.jpg"), "Later"))))
    assert transient.value.reason.endswith("answered HTTP 404")


def test_a_feed_image_without_alt_text_is_left_out_or_sent_where_the_channel_opts_out(
    root: Path, trusted: ImageServer
) -> None:
    trusted.files["/feed.jpg"] = noisy_jpeg(120, 80)
    feed_image = ImageRef(trusted.url("/feed.jpg"), None, optional=True)
    cache = MediaCache(root, addresses=ALLOW)
    strict = prepare_media(article(feed_image), BlueskyAdapter.media_limits, bsky(), channel="b", cache=cache)
    assert strict.media == () and strict.problems == ()
    assert strict.left_out == (
        f"image 1 ({feed_image.src}) left out: it has no alt text (require_alt = false sends it without)",
    )
    assert trusted.requests == []  # nothing downloaded for an image that is not sent
    relaxed = prepare_media(
        article(feed_image), BlueskyAdapter.media_limits, bsky(require_alt=False), channel="b", cache=cache
    )
    assert [(m.src, m.alt) for m in relaxed.media] == [(feed_image.src, "")] and relaxed.problems == ()
    gone = ImageRef(trusted.url("/gone.jpg"), None, optional=True)
    without = prepare_media(
        article(gone), BlueskyAdapter.media_limits, bsky(require_alt=False), channel="b", cache=cache
    )
    assert without.problems == () and without.media == ()
    assert without.left_out == (
        f"image 1 ({gone.src}): {gone.src} answered HTTP 404 (left out: the post goes without it)",
    )
