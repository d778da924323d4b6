"""Bluesky images and link cards against the fake PDS: ``uploadBlob``, ``app.bsky.embed.images`` with alt
and aspect ratio, ``app.bsky.embed.external`` with its thumbnail, on the first part only; every blob uploaded
once, and uploaded again only when the PDS says it no longer has it (``BlobNotFound``)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.bluesky import BlueskyFake, blob_cid
from media_files import card, gallery, image_bytes, make_media
from pydantic import SecretStr

from scheduler.adapters.base import Outgoing
from scheduler.adapters.bluesky import BlueskyAdapter, format_created_at
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError
from scheduler.media.model import Card, Media

from .contract import CHANNEL, THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio
PUT = r"/xrpc/com\.atproto\.repo\.putRecord$"


@pytest.fixture
def fake() -> Iterator[BlueskyFake]:
    with BlueskyFake(handle="alice.test", password="app-pass-1234").running() as running:
        assert isinstance(running, BlueskyFake)
        yield running


def adapter_for(fake: BlueskyFake, http: httpx.AsyncClient) -> BlueskyAdapter:
    settings = ChannelSettings(
        network="bluesky", base_url=fake.base_url, handle="alice.test", password=SecretStr("app-pass-1234")
    )
    return BlueskyAdapter(CHANNEL, settings, http=http, root=Path.cwd())


def post_with(
    parts: tuple[str, ...] | list[str], media: tuple[Media, ...] = (), link: Card | None = None
) -> Outgoing:
    return dataclasses.replace(outgoing(parts), media=media, card=link)


def stored_bytes(fake: BlueskyFake, blob: dict[str, Any]) -> bytes:
    return fake.blobs[blob["ref"]["$link"]].data


# --- the fake's rules, with raw requests --------------------------------------------------------------------


class Raw:
    """A logged-in client of the fake, speaking XRPC without the adapter."""

    def __init__(self, fake: BlueskyFake) -> None:
        self.fake = fake
        session = httpx.post(
            f"{fake.base_url}/xrpc/com.atproto.server.createSession",
            json={"identifier": "alice.test", "password": "app-pass-1234"},
        ).json()
        self.headers = {"Authorization": f"Bearer {session['accessJwt']}"}
        self.did = session["did"]

    def upload(self, data: bytes, mime: str = "image/jpeg") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.fake.base_url}/xrpc/com.atproto.repo.uploadBlob",
            content=data,
            headers={**self.headers, "Content-Type": mime},
        )
        assert answer.status_code == 200, answer.text
        blob: dict[str, Any] = answer.json()["blob"]
        return blob

    def create(self, embed: dict[str, Any]) -> httpx.Response:
        record = {
            "$type": "app.bsky.feed.post",
            "text": "raw",
            "createdAt": format_created_at(datetime.now(UTC)),
            "embed": embed,
        }
        body = {"repo": self.did, "collection": "app.bsky.feed.post", "record": record}
        return httpx.post(
            f"{self.fake.base_url}/xrpc/com.atproto.repo.createRecord", json=body, headers=self.headers
        )


def images(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images", "images": list(entries)}


def external(thumb: dict[str, Any] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {"uri": "https://example.com", "title": "t", "description": "d"}
    if thumb is not None:
        card["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": card}


def test_fake_blobs_are_content_addressed_and_read_back(fake: BlueskyFake) -> None:
    raw = Raw(fake)
    data = image_bytes(30, 20)
    blob = raw.upload(data)
    digest = hashlib.sha256(data).digest()
    assert blob == {
        "$type": "blob",
        "ref": {"$link": blob_cid(data)},
        "mimeType": "image/jpeg",
        "size": len(data),
    }
    assert blob["ref"]["$link"].startswith("bafkrei")
    assert digest.hex() not in blob["ref"]["$link"]  # base32, as the PDS spells it
    back = httpx.get(
        f"{fake.base_url}/xrpc/com.atproto.sync.getBlob", params={"did": raw.did, "cid": blob["ref"]["$link"]}
    )
    assert back.content == data
    assert back.headers["content-type"] == "image/jpeg"


def test_fake_refuses_what_the_pds_refuses(fake: BlueskyFake) -> None:
    raw = Raw(fake)
    blob = raw.upload(image_bytes(30, 20))
    no_alt = raw.create(images({"image": blob}))
    assert no_alt.status_code == 400
    assert no_alt.json()["message"].endswith('Missing required key "alt" at $.record.embed.images[0]')
    five = raw.create(images(*[{"image": blob, "alt": "a"}] * 5))
    assert five.status_code == 400
    assert "maximum 4, got 5" in five.json()["message"]
    never = dict(blob, ref={"$link": blob_cid(b"never uploaded")})
    missing = raw.create(images({"image": never, "alt": "a"}))
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "BlobNotFound",
        "message": f"Could not find blob: {blob_cid(b'never uploaded')}",
    }
    both = raw.create({**images({"image": blob, "alt": "a"}), "external": external()["external"]})
    assert both.status_code == 400
    ratio = raw.create(images({"image": blob, "alt": "a", "aspectRatio": {"width": 0, "height": 3}}))
    assert ratio.status_code == 400
    assert (
        raw.create(images({"image": blob, "alt": "a", "aspectRatio": {"width": 3, "height": 2}})).status_code
        == 200
    )
    assert raw.create(external(thumb=blob)).status_code == 200


def test_fake_bounds_image_and_thumb_bytes(fake: BlueskyFake) -> None:
    raw = Raw(fake)
    big = raw.upload(image_bytes(620, 620, mime="image/png", noise=True), mime="image/png")
    assert 1_000_000 < big["size"] < 2_000_000
    as_image = raw.create(images({"image": big, "alt": "a"}))
    assert as_image.status_code == 400
    assert f"blob too big (maximum 1000000, got {big['size']})" in as_image.json()["message"]
    as_thumb = raw.create(external(thumb=big))
    assert as_thumb.status_code == 400
    assert (
        f"blob too big (maximum 1000000, got {big['size']}) at $.record.embed.external.thumb"
        in (as_thumb.json()["message"])
    )
    fake.image_max_bytes = 2_000_000  # the newer lexicon's bound, for a PDS that has it
    assert raw.create(images({"image": big, "alt": "a"})).status_code == 200


def test_fake_deletes_unused_blobs_but_keeps_used_ones(fake: BlueskyFake) -> None:
    raw = Raw(fake)
    used, unused = raw.upload(image_bytes(30, 20)), raw.upload(image_bytes(31, 20))
    assert raw.create(images({"image": used, "alt": "a"})).status_code == 200
    fake.expire_blobs()
    assert set(fake.blobs) == {used["ref"]["$link"]}
    assert raw.create(images({"image": unused, "alt": "a"})).json()["error"] == "BlobNotFound"


# --- the adapter --------------------------------------------------------------------------------------------


async def test_images_are_embedded_in_the_first_part_with_alt_and_aspect_ratio(
    fake: BlueskyFake, tmp_path: Path
) -> None:
    pictures = gallery(tmp_path, 2)
    async with client() as http:
        await adapter_for(fake, http).publish(post_with(THREAD, pictures), DurableJournal().journal())
    (_, first), *rest = fake.posts()
    embed = first.value["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [(i["alt"], i["aspectRatio"]) for i in embed["images"]] == [
        (p.alt, {"width": p.width, "height": p.height}) for p in pictures
    ]
    assert [stored_bytes(fake, i["image"]) for i in embed["images"]] == [p.read_bytes() for p in pictures]
    assert [i["image"]["mimeType"] for i in embed["images"]] == ["image/jpeg", "image/jpeg"]
    assert all("embed" not in stored.value for _, stored in rest)
    assert len(fake.blob_uploads) == 2
    uploads = fake.requests_to("POST", r"uploadBlob$")
    assert [u.headers["content-type"] for u in uploads] == ["image/jpeg", "image/jpeg"]
    assert [u.body for u in uploads] == [p.read_bytes() for p in pictures]


async def test_a_post_with_a_card_and_no_images_gets_an_external_embed_with_its_thumb(
    fake: BlueskyFake, tmp_path: Path
) -> None:
    link = card(tmp_path)
    assert link.thumb is not None
    async with client() as http:
        await adapter_for(fake, http).publish(post_with(THREAD, link=link), DurableJournal().journal())
    (_, first), *rest = fake.posts()
    embed = first.value["embed"]
    assert embed["$type"] == "app.bsky.embed.external"
    thumb = embed["external"].pop("thumb")
    assert embed["external"] == {"uri": link.uri, "title": link.title, "description": link.description}
    assert stored_bytes(fake, thumb) == link.thumb.read_bytes()
    assert all("embed" not in stored.value for _, stored in rest)


async def test_a_card_without_thumb_and_images_beat_a_card(fake: BlueskyFake, tmp_path: Path) -> None:
    async with client() as http:
        bare = card(tmp_path, thumb=False)
        await adapter_for(fake, http).publish(post_with(["Bare card"], link=bare), DurableJournal().journal())
        picture = make_media(tmp_path)
        both = post_with(["Picture and card"], (picture,), card(tmp_path))
        await adapter_for(fake, http).publish(
            dataclasses.replace(both, delivery_id="d-2"), DurableJournal().journal()
        )
    [(_, first), (_, second)] = fake.posts()
    assert first.value["embed"]["external"] == {
        "uri": bare.uri,
        "title": bare.title,
        "description": bare.description,
    }
    assert second.value["embed"]["$type"] == "app.bsky.embed.images"
    assert len(fake.blob_uploads) == 1, "the card's thumb is not uploaded when the images win"


async def test_a_retry_reuses_the_journalled_blobs(fake: BlueskyFake, tmp_path: Path) -> None:
    pictures = gallery(tmp_path, 3)
    fake.faults.server_error(status=502, path=PUT)
    durable = DurableJournal()
    post = post_with(["Three pictures"], pictures)
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        assert set(durable.saved["uploads"]["bluesky"]) == {p.sha256 for p in pictures}
        await adapter_for(fake, http).publish(post, durable.journal())
    assert len(fake.blob_uploads) == 3
    [(_, stored)] = fake.posts()
    assert [stored_bytes(fake, i["image"]) for i in stored.value["embed"]["images"]] == [
        p.read_bytes() for p in pictures
    ]


async def test_blobs_expired_after_a_crash_are_uploaded_again(fake: BlueskyFake, tmp_path: Path) -> None:
    picture = make_media(tmp_path)
    fake.faults.timeout(seconds=30, path=PUT)
    durable = DurableJournal()
    post = post_with(["Back after a long while"], (picture,))
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        fake.expire_blobs()  # minutes passed: the PDS deleted the blob no record used
        assert fake.blobs == {}
        restarted = adapter_for(fake, http)
        receipt = await restarted.reconcile(post, durable.journal())
        assert receipt is None
        await restarted.publish(post, durable.journal())
    assert len(fake.blob_uploads) == 2
    assert len(fake.requests_to("POST", PUT)) == 3, "lost, refused for the missing blob, then put"
    [(_, stored)] = fake.posts()
    [image] = stored.value["embed"]["images"]
    assert stored_bytes(fake, image["image"]) == picture.read_bytes()
    assert fake.edits == []


async def test_images_the_pds_would_refuse_are_refused_before_sending(
    fake: BlueskyFake, tmp_path: Path
) -> None:
    big = make_media(tmp_path, width=620, height=620, mime="image/png", noise=True)
    link = dataclasses.replace(card(tmp_path), thumb=big)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter_for(fake, http).publish(post_with(["Too big"], (big,)), DurableJournal().journal())
        assert f"has {big.size} bytes, at most 1000000" in caught.value.reason
        with pytest.raises(PermanentDeliveryError) as thumb:
            await adapter_for(fake, http).publish(
                post_with(["Big thumb"], link=link), DurableJournal().journal()
            )
        assert "card thumbnail" in thumb.value.reason
    assert fake.requests == []


async def test_a_retry_reuses_the_journalled_card_thumb(fake: BlueskyFake, tmp_path: Path) -> None:
    link = card(tmp_path)
    assert link.thumb is not None
    fake.faults.server_error(status=503, path=PUT)
    durable = DurableJournal()
    post = post_with(["A card, twice tried"], link=link)
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        await adapter_for(fake, http).publish(post, durable.journal())
    assert len(fake.blob_uploads) == 1
    [(_, stored)] = fake.posts()
    assert stored_bytes(fake, stored.value["embed"]["external"]["thumb"]) == link.thumb.read_bytes()
