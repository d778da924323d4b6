"""The uploads journal saves each upload before the post and reuses it after a crash."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from scheduler.adapters.base import Journal
from scheduler.adapters.uploads import UploadJournal
from scheduler.media.model import Media


def _media(tmp_path: Path, content: bytes) -> Media:
    digest = hashlib.sha256(content).hexdigest()
    path = tmp_path / f"{digest}.png"
    path.write_bytes(content)
    return Media(
        src="a.png",
        alt="alt",
        path=path,
        mime="image/png",
        width=1,
        height=1,
        size=len(content),
        sha256=digest,
    )


def test_an_upload_is_saved_before_it_is_used_and_reused_after_a_crash(tmp_path: Path) -> None:
    saved: list[dict[str, Any]] = []

    async def saver(state: dict[str, Any]) -> None:
        saved.append({"uploads": {k: dict(v) for k, v in state["uploads"].items()}})

    calls: list[str] = []

    async def upload(media: Media) -> str:
        calls.append(media.sha256)
        return f"id-{len(calls)}"

    first, second = _media(tmp_path, b"one"), _media(tmp_path, b"two")

    async def run() -> list[str]:
        uploads = UploadJournal(Journal({}, saver), network="mastodon")
        return [await uploads.once(item, upload) for item in (first, second)]

    assert asyncio.run(run()) == ["id-1", "id-2"]
    assert saved[-1] == {"uploads": {"mastodon": {first.sha256: "id-1", second.sha256: "id-2"}}}
    assert len(saved) == 2, "each upload is saved as soon as it answers"

    async def after_crash() -> list[str]:  # the journal as stored, read back by the next attempt
        uploads = UploadJournal(Journal(saved[-1], saver), network="mastodon")
        return [await uploads.once(item, upload) for item in (first, second)]

    assert asyncio.run(after_crash()) == ["id-1", "id-2"]
    assert len(calls) == 2, "nothing is uploaded twice"


def test_a_forgotten_upload_is_made_again(tmp_path: Path) -> None:
    calls: list[str] = []

    async def upload(media: Media) -> str:
        calls.append(media.sha256)
        return f"blob-{len(calls)}"

    image = _media(tmp_path, b"img")

    async def run() -> tuple[str, str]:
        uploads = UploadJournal(Journal({}), network="bluesky")
        before = await uploads.once(image, upload)
        await uploads.forget(image)
        return before, await uploads.once(image, upload)

    assert asyncio.run(run()) == ("blob-1", "blob-2")
