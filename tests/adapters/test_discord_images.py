"""Discord images: one multipart POST, ``payload_json`` with ``attachments`` (alt as description) and
``files[n]``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fakes.discord import DiscordFake
from fakes.multipart import form_parts
from media_files import image_media
from pydantic import SecretStr

from scheduler.adapters.discord import DiscordAdapter
from scheduler.adapters.uploads import upload_file
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError

from .contract import THREAD, DurableJournal, client, outgoing

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[DiscordFake]:
    with DiscordFake().running() as running:
        assert isinstance(running, DiscordFake)
        yield running


def adapter(fake: DiscordFake, http: object) -> DiscordAdapter:
    settings = ChannelSettings(network="discord", webhook_url=SecretStr(fake.webhook_url()))
    return DiscordAdapter("chat", settings, http=http, root=Path("."))  # type: ignore[arg-type]


async def test_the_first_part_carries_the_images_as_attachments(fake: DiscordFake, tmp_path: Path) -> None:
    media = image_media(tmp_path, 2)
    async with client() as http:
        await adapter(fake, http).publish(outgoing(THREAD, media=media), DurableJournal().journal())
    first, *rest = [r for r in fake.requests if r.method == "POST"]
    form = form_parts(first)
    payload = json.loads(form.values()["payload_json"])
    assert payload["content"] == THREAD[0]
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["attachments"] == [
        {"id": 0, "filename": "image0.jpg", "description": media[0].alt},
        {"id": 1, "filename": "image1.jpg", "description": media[1].alt},
    ]
    assert [(f.name, f.content_type) for f in form.files()] == [
        ("files[0]", "image/jpeg"),
        ("files[1]", "image/jpeg"),
    ]
    assert all(r.headers["content-type"] == "application/json" for r in rest), "later parts are text"
    assert [len(m.attachments) for m in fake.messages] == [2, 0, 0]


async def test_an_alt_text_over_1024_is_refused_before_sending(fake: DiscordFake, tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    long_alt = replace(image, alt="a" * 1025)
    async with client() as http:
        with pytest.raises(
            PermanentDeliveryError, match=r"image 1 .* has 1025 characters of alt text, at most 1024"
        ):
            await adapter(fake, http).publish(
                outgoing(["Hello"], media=(long_alt,)), DurableJournal().journal()
            )
    assert fake.requests == []


async def test_the_fake_refuses_a_long_description_as_discord_does(fake: DiscordFake, tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    payload = {"content": "x", "attachments": [{"id": 0, "description": "a" * 1025}]}
    async with client() as http:
        answer = await http.post(
            fake.webhook_url() + "?wait=true",
            data={"payload_json": json.dumps(payload)},
            files={"files[0]": upload_file(image)},
        )
    assert answer.status_code == 400
    assert answer.json()["code"] == 50035
    assert "attachments" in answer.json()["errors"]
    assert fake.messages == []
