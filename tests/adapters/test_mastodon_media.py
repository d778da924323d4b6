"""Mastodon images: ``POST /api/v2/media`` with the alt text, waiting out ``202`` processing through the
adapter's injected sleep (no wall clock), ``media_ids`` on the first part only, and each upload made once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.mastodon import MastodonFake
from media_files import gallery, image_bytes, make_media
from pydantic import SecretStr

from scheduler.adapters.base import Outgoing
from scheduler.adapters.mastodon import MEDIA_POLL_DELAYS, MastodonAdapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError
from scheduler.media.model import Media

from .contract import THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio
TOKEN = "masto-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Naps:
    """An injected ``sleep`` that only records how long it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def fake() -> Iterator[MastodonFake]:
    with MastodonFake(token=TOKEN).running() as running:
        yield running


def adapter(http: httpx.AsyncClient, fake: MastodonFake, tmp_path: Path, naps: Naps) -> MastodonAdapter:
    settings = ChannelSettings(network="mastodon", base_url=fake.base_url, token=SecretStr(TOKEN))
    return MastodonAdapter("masto", settings, http=http, root=tmp_path, sleep=naps)


def with_media(parts: tuple[str, ...] | list[str], media: tuple[Media, ...]) -> Outgoing:
    return dataclasses.replace(outgoing(parts), media=media)


# --- the fake's rules ---------------------------------------------------------------------------------------


def upload_raw(fake: MastodonFake, data: bytes, description: str = "alt") -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/api/v2/media",
        files={"file": ("a.jpg", data, "image/jpeg")},
        data={"description": description},
        headers=AUTH,
    )


def status_raw(fake: MastodonFake, text: str, media_ids: list[str]) -> httpx.Response:
    body = {"status": text, "media_ids": media_ids}
    return httpx.post(f"{fake.base_url}/api/v1/statuses", json=body, headers=AUTH)


def test_fake_answers_202_then_206_until_the_file_is_processed(fake: MastodonFake) -> None:
    fake.processing_checks = 2
    answer = upload_raw(fake, image_bytes(20, 10))
    assert answer.status_code == 202
    assert answer.json()["url"] is None
    media_id = answer.json()["id"]
    refused = status_raw(fake, "too early", [media_id])
    assert refused.status_code == 422
    assert refused.json() == {
        "error": "Cannot attach files that have not finished processing. Try again in a moment!"
    }
    checks = [httpx.get(f"{fake.base_url}/api/v1/media/{media_id}", headers=AUTH) for _ in range(3)]
    assert [c.status_code for c in checks] == [206, 206, 200]
    assert checks[-1].json()["url"].endswith(f"/system/media/{media_id}/original")
    assert status_raw(fake, "now", [media_id]).status_code == 200
    assert [m.id for m in fake.statuses[0].media] == [media_id]


def test_fake_limits_descriptions_files_and_attachments(fake: MastodonFake) -> None:
    too_long = upload_raw(fake, image_bytes(20, 10), description="d" * 1501)
    assert too_long.status_code == 422
    assert (
        too_long.json()["error"] == "Validation failed: Description is too long (maximum is 1500 characters)"
    )
    assert upload_raw(fake, image_bytes(20, 10), description="d" * 1500).status_code == 200
    assert upload_raw(fake, b"not an image").status_code == 422
    ids = [upload_raw(fake, image_bytes(20, 10 + n)).json()["id"] for n in range(5)]
    five = status_raw(fake, "five", ids)
    assert five.status_code == 422
    assert five.json() == {"error": "Cannot attach more than 4 files"}


def test_fake_leaves_out_unknown_media_silently_like_the_server(fake: MastodonFake) -> None:
    """What makes exactly-once uploads matter: a status naming a gone upload is posted without it."""
    media_id = upload_raw(fake, image_bytes(20, 10)).json()["id"]
    fake.expire_media()
    answer = status_raw(fake, "where is my picture", [media_id])
    assert answer.status_code == 200
    assert answer.json()["media_attachments"] == []


# --- the adapter --------------------------------------------------------------------------------------------


async def test_images_go_with_the_first_part_with_their_alt_text(fake: MastodonFake, tmp_path: Path) -> None:
    images = gallery(tmp_path, 2)
    naps = Naps()
    async with client() as http:
        receipt = await adapter(http, fake, tmp_path, naps).publish(
            with_media(THREAD, images), DurableJournal().journal()
        )
    first, *rest = fake.statuses
    assert [(m.data, m.description, m.mime) for m in first.media] == [
        (i.read_bytes(), i.alt, "image/jpeg") for i in images
    ]
    assert all(s.media == [] for s in rest)
    assert len(fake.uploads) == 2
    assert receipt.remote_ids == tuple(s.id for s in fake.statuses)
    assert naps.delays == [], "ready at once: nothing to wait for"
    [upload] = fake.requests_to("POST", r"^/api/v2/media$")[:1]
    assert upload.multipart()["file"].content_type == "image/jpeg"


async def test_a_202_upload_is_checked_until_ready_without_waiting_on_the_clock(
    fake: MastodonFake, tmp_path: Path
) -> None:
    fake.processing_checks = 3
    image = make_media(tmp_path)
    naps = Naps()
    async with client() as http:
        await adapter(http, fake, tmp_path, naps).publish(
            with_media(["Processed first"], (image,)), DurableJournal().journal()
        )
    assert naps.delays == list(MEDIA_POLL_DELAYS[:4])
    assert len(fake.requests_to("GET", r"^/api/v1/media/")) == 4
    [status] = fake.statuses
    assert [m.data for m in status.media] == [image.read_bytes()]


async def test_processing_that_never_ends_is_transient_and_the_retry_reuses_the_upload(
    fake: MastodonFake, tmp_path: Path
) -> None:
    fake.processing_checks = 10**6
    image = make_media(tmp_path)
    durable = DurableJournal()
    naps = Naps()
    post = with_media(["Slow server"], (image,))
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(http, fake, tmp_path, naps).publish(post, durable.journal())
        assert caught.value.retry_after is not None
        assert "still processing" in caught.value.reason
        assert naps.delays == list(MEDIA_POLL_DELAYS)
        assert fake.statuses == []
        [uploaded] = fake.uploads
        uploaded.checks_left = 0  # the server finished meanwhile
        await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
    assert len(fake.uploads) == 1, "the retry uploaded again"
    assert [m.id for m in fake.statuses[0].media] == [uploaded.id]


async def test_a_failed_status_is_retried_with_the_same_uploads(fake: MastodonFake, tmp_path: Path) -> None:
    images = gallery(tmp_path, 3)
    fake.faults.server_error(status=503, path=r"^/api/v1/statuses$")
    durable = DurableJournal()
    post = with_media(["Three pictures"], images)
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
        assert set(durable.saved["uploads"]["mastodon"]) == {i.sha256 for i in images}
        await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
    assert len(fake.uploads) == 3
    [status] = fake.statuses
    assert [m.data for m in status.media] == [i.read_bytes() for i in images]


async def test_a_lost_status_answer_is_settled_by_reconcile_with_the_images(
    fake: MastodonFake, tmp_path: Path
) -> None:
    image = make_media(tmp_path)
    fake.faults.commit_then_drop(path=r"^/api/v1/statuses$")
    durable = DurableJournal()
    post = with_media(["Lost answer"], (image,))
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
        receipt = await adapter(http, fake, tmp_path, Naps()).reconcile(post, durable.journal())
    assert receipt is not None
    [status] = fake.statuses
    assert [m.data for m in status.media] == [image.read_bytes()]
    assert len(fake.uploads) == 1


async def test_an_upload_the_server_deleted_is_made_again_not_left_out(
    fake: MastodonFake, tmp_path: Path
) -> None:
    image = make_media(tmp_path)
    fake.faults.server_error(status=503, path=r"^/api/v1/statuses$")
    durable = DurableJournal()
    post = with_media(["A day later"], (image,))
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
        fake.expire_media()
        await adapter(http, fake, tmp_path, Naps()).publish(post, durable.journal())
    assert len(fake.uploads) == 2
    [status] = fake.statuses
    assert [m.data for m in status.media] == [image.read_bytes()]


async def test_alt_text_over_the_description_limit_is_refused_before_sending(
    fake: MastodonFake, tmp_path: Path
) -> None:
    image = make_media(tmp_path, alt="x" * 1501)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(http, fake, tmp_path, Naps()).publish(
                with_media(["Long alt"], (image,)), DurableJournal().journal()
            )
    assert "1501 characters of alt text, at most 1500" in caught.value.reason
    assert fake.requests == []
