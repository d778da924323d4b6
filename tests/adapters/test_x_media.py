"""X images: ``POST /2/media/upload`` (multipart, ``tweet_image``), the alt text through
``POST /2/media/metadata``, ``media.media_ids`` on the first tweet only; each upload made once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.x import XFake
from media_files import gallery, image_bytes, make_media
from pydantic import SecretStr

from scheduler.adapters.base import Outgoing
from scheduler.adapters.x import XAdapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError, UnknownOutcome
from scheduler.media.model import Media

from .contract import THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[XFake]:
    with XFake().running() as running:
        yield running


def oauth1(fake: XFake) -> ChannelSettings:
    return ChannelSettings(
        network="x",
        base_url=fake.base_url,
        api_key=SecretStr(fake.consumer[0]),
        api_secret=SecretStr(fake.consumer[1]),
        access_token=SecretStr(fake.access[0]),
        access_token_secret=SecretStr(fake.access[1]),
    )


def adapter(http: httpx.AsyncClient, fake: XFake, tmp_path: Path) -> XAdapter:
    return XAdapter("x", oauth1(fake), http=http, root=tmp_path)


def with_media(parts: tuple[str, ...] | list[str], media: tuple[Media, ...]) -> Outgoing:
    return dataclasses.replace(outgoing(parts), media=media)


# --- the fake's rules ---------------------------------------------------------------------------------------

BEARER = {"Authorization": "Bearer o2-access"}


def upload_raw(fake: XFake, data: bytes, category: str = "tweet_image") -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/2/media/upload",
        files={"media": ("a.jpg", data, "image/jpeg")},
        data={"media_category": category},
        headers=BEARER,
    )


def test_fake_media_upload_metadata_and_tweet(fake: XFake) -> None:
    answer = upload_raw(fake, image_bytes(20, 10))
    assert answer.status_code == 200
    media_id = answer.json()["data"]["id"]
    assert answer.json()["data"]["expires_after_secs"] == 86400
    assert upload_raw(fake, image_bytes(20, 10), category="tweet_video").status_code == 400
    assert upload_raw(fake, b"not an image").status_code == 400

    def describe(text: str, media: str = media_id) -> httpx.Response:
        body = {"id": media, "metadata": {"alt_text": {"text": text}}}
        return httpx.post(f"{fake.base_url}/2/media/metadata", json=body, headers=BEARER)

    assert describe("a" * 1001).status_code == 400
    assert describe("a" * 1000).status_code == 200
    assert describe("x", media="123").status_code == 400

    def tweet(text: str, ids: list[str]) -> httpx.Response:
        body = {"text": text, "media": {"media_ids": ids}}
        return httpx.post(f"{fake.base_url}/2/tweets", json=body, headers=BEARER)

    invalid = tweet("unknown media", ["42"])
    assert invalid.status_code == 400
    assert invalid.json()["detail"] == "Your media IDs are invalid."
    assert tweet("five", [media_id] * 5).status_code == 400
    assert tweet("one", [media_id]).status_code == 201
    assert [m.alt for m in fake.tweets[0].media] == ["a" * 1000]


# --- the adapter --------------------------------------------------------------------------------------------


async def test_images_with_alt_text_go_with_the_first_tweet(fake: XFake, tmp_path: Path) -> None:
    pictures = gallery(tmp_path, 2)
    async with client() as http:
        await adapter(http, fake, tmp_path).publish(with_media(THREAD, pictures), DurableJournal().journal())
    first, *rest = fake.tweets
    assert [(m.data, m.alt, m.category) for m in first.media] == [
        (p.read_bytes(), p.alt, "tweet_image") for p in pictures
    ]
    assert all(t.media == [] for t in rest)
    assert len(fake.media_uploads) == 2
    upload = fake.requests_to("POST", r"^/2/media/upload$")[0]
    assert upload.headers["authorization"].startswith("OAuth "), "signed like every other request"


async def test_a_failed_tweet_is_retried_with_the_same_uploads(fake: XFake, tmp_path: Path) -> None:
    pictures = gallery(tmp_path, 2)
    fake.faults.server_error(status=503, path=r"^/2/tweets$")
    durable = DurableJournal()
    post = with_media(["Two pictures"], pictures)
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, fake, tmp_path).publish(post, durable.journal())
        saved = durable.saved["uploads"]["x"]
        assert [saved[p.sha256]["described"] for p in pictures] == [True, True]
        await adapter(http, fake, tmp_path).publish(post, durable.journal())
    assert len(fake.media_uploads) == 2
    assert len(fake.requests_to("POST", r"^/2/media/metadata$")) == 2
    [tweet] = fake.tweets
    assert [m.data for m in tweet.media] == [p.read_bytes() for p in pictures]


async def test_an_expired_upload_is_made_again(fake: XFake, tmp_path: Path) -> None:
    picture = make_media(tmp_path)
    fake.faults.server_error(status=503, path=r"^/2/tweets$")
    durable = DurableJournal()
    post = with_media(["A day later"], (picture,))
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, fake, tmp_path).publish(post, durable.journal())
        fake.expire_media()
        durable.saved["uploads"]["x"][picture.sha256]["expires_at"] -= 86_400  # a day went by
        await adapter(http, fake, tmp_path).publish(post, durable.journal())
    assert len(fake.media_uploads) == 2
    [tweet] = fake.tweets
    assert [(m.data, m.alt) for m in tweet.media] == [(picture.read_bytes(), picture.alt)]


async def test_a_lost_tweet_answer_stays_unknown_and_uploads_nothing_more(
    fake: XFake, tmp_path: Path
) -> None:
    picture = make_media(tmp_path)
    fake.faults.commit_then_drop(path=r"^/2/tweets$")
    durable = DurableJournal()
    post = with_media(["Lost answer"], (picture,))
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(http, fake, tmp_path).publish(post, durable.journal())
        with pytest.raises(UnknownOutcome):
            await adapter(http, fake, tmp_path).publish(post, durable.journal())
    assert len(fake.media_uploads) == 1
    assert len(fake.tweets) == 1


async def test_alt_text_over_1000_characters_is_refused_before_sending(fake: XFake, tmp_path: Path) -> None:
    picture = make_media(tmp_path, alt="y" * 1001)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(http, fake, tmp_path).publish(
                with_media(["Long alt"], (picture,)), DurableJournal().journal()
            )
    assert "1001 characters of alt text, at most 1000" in caught.value.reason
    assert fake.requests == []
