"""The uploads journal: media a delivery has uploaded, remembered before the post that uses them.

A network that takes images by upload (Mastodon media, Bluesky blobs, X media, LinkedIn images) answers an id
for each; the post then names those ids. The id is saved in the journal (``await journal.save()`` commits it)
as soon as the upload answers, *before* the post is sent, so a crash or a retry between the upload and the
post reuses the id instead of uploading again, and never posts without the image::

    uploads = UploadJournal(journal, network="mastodon")
    ids = [await uploads.once(item, upload) for item in post.media]
    ...  # then the post naming ``ids``

An entry is keyed by the image's content hash (:attr:`~scheduler.media.Media.sha256`) so that the same image
processed again after a restart is recognised. An uploaded id may expire before it is used (Bluesky deletes a
blob no record references within minutes, Mastodon unattached media after a day): an adapter whose network
answers so calls :meth:`UploadJournal.forget` and uploads again.

The state lives in ``journal.state["uploads"][network]`` as ``{sha256: uploaded}`` (any JSON the adapter
needs to name the upload: an id, or Bluesky's whole blob object).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from scheduler.adapters.base import Journal
from scheduler.media.model import Media


class UploadJournal:
    """One delivery's uploads to one network, kept in ``journal.state["uploads"][network]``."""

    def __init__(self, journal: Journal, *, network: str) -> None:
        self.journal = journal
        uploads = journal.state.setdefault("uploads", {})
        self.state: dict[str, Any] = uploads.setdefault(network, {})

    def uploaded(self, media: Media) -> Any | None:
        """What the network answered for this image's upload, if this delivery already made it."""
        return self.state.get(media.sha256)

    async def remember(self, media: Media, uploaded: Any) -> None:
        """Keep ``uploaded`` (JSON) for the image and save the journal before anything else is sent."""
        self.state[media.sha256] = uploaded
        await self.journal.save()

    async def forget(self, media: Media) -> None:
        """The network no longer knows this upload (expired): the next :meth:`once` uploads again."""
        if self.state.pop(media.sha256, None) is not None:
            await self.journal.save()

    async def once(self, media: Media, upload: Callable[[Media], Awaitable[Any]]) -> Any:
        """The upload of ``media``: the journalled one, or ``await upload(media)``, remembered at once."""
        known = self.uploaded(media)
        if known is not None:
            return known
        uploaded = await upload(media)
        await self.remember(media, uploaded)
        return uploaded


EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


def file_name(media: Media, stem: str = "image") -> str:
    """A file name for an image sent as a file: ``stem`` and the extension of its type (``image.jpg``)."""
    return f"{stem}.{EXTENSIONS.get(media.mime, 'bin')}"


def upload_file(media: Media, filename: str | None = None) -> tuple[str, bytes, str]:
    """``media`` as one file of :func:`~scheduler.adapters.http.send`'s ``files`` (a ``multipart/form-data``
    upload, encoded by httpx): its file name, its bytes read from the media cache, its type."""
    return (filename or file_name(media), media.read_bytes(), media.mime)
