"""Real small images for adapter tests: files made with Pillow, wrapped in :class:`~scheduler.media.Media`
with their true type, size, pixel dimensions and sha256, as the media cache hands them to an adapter."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from scheduler.media.model import Media

COLOURS = [(200, 30, 30), (30, 160, 60), (40, 60, 200), (230, 200, 20), (120, 40, 160)]
FORMATS = {"image/jpeg": ("JPEG", "jpg"), "image/png": ("PNG", "png")}


def image_media(
    folder: Path,
    count: int = 1,
    *,
    src: str = "images/photo{n}.jpg",
    mime: str = "image/jpeg",
    size: tuple[int, int] = (64, 48),
    alt: str = "Photo {n}: a plain coloured rectangle",
) -> tuple[Media, ...]:
    """``count`` distinct images written to ``folder`` (named by their hash); ``src`` and ``alt`` are
    formatted with ``n`` (1-based), e.g. ``src="https://example.com/img/{n}.jpg"`` for a public image."""
    folder.mkdir(parents=True, exist_ok=True)
    fmt, extension = FORMATS[mime]
    made = []
    for n in range(1, count + 1):
        scratch = folder / f"scratch-{n}.{extension}"
        Image.new("RGB", size, COLOURS[(n - 1) % len(COLOURS)]).save(scratch, fmt)
        data = scratch.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        path = folder / f"{digest}.{extension}"
        scratch.replace(path)
        made.append(
            Media(
                src=src.format(n=n),
                alt=alt.format(n=n),
                path=path,
                mime=mime,
                width=size[0],
                height=size[1],
                size=len(data),
                sha256=digest,
            )
        )
    return tuple(made)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
