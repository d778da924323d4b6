"""Multipart form bodies for the adapters that upload image files (Telegram, Discord, Facebook).

:func:`~scheduler.adapters.http.send` takes a finished body (``content``); :func:`multipart` builds one with
httpx's own encoder, so the bytes and the ``Content-Type`` (with its boundary) are the ones httpx would send::

    body, content_type = multipart({"chat_id": "@news"}, [FilePart("photo", media)])
    await send(client, "POST", url, network="telegram", content=body, headers={"Content-Type": content_type})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

from scheduler.media.model import Media

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


def file_name(media: Media, stem: str = "image") -> str:
    """A file name for an upload: ``stem`` and the extension of the image's type (``image.jpg``)."""
    return f"{stem}.{EXTENSIONS.get(media.mime, 'bin')}"


@dataclass(frozen=True, slots=True)
class FilePart:
    """One file field: the form field ``name`` and the processed image it carries."""

    name: str
    media: Media
    filename: str | None = None


def multipart(fields: Mapping[str, str], files: Sequence[FilePart]) -> tuple[bytes, str]:
    """The ``multipart/form-data`` body of ``fields`` and ``files`` (each image's bytes read from the media
    cache), and its ``Content-Type`` header value."""
    request = httpx.Request(
        "POST",
        "http://multipart.invalid/",
        data=dict(fields),
        files=[
            (part.name, (part.filename or file_name(part.media), part.media.read_bytes(), part.media.mime))
            for part in files
        ],
    )
    return request.read(), request.headers["content-type"]
