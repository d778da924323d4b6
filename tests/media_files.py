"""Real small image files for adapter and upload tests, made with Pillow, as the media stage hands them to an
adapter (the one image-file helper of the tests).

``make_media(folder, alt="A red square")`` writes a JPEG named by its content hash and returns the
:class:`~scheduler.media.Media` describing it (true sha256, size, width and height), so an adapter test can
check that the server received exactly these bytes::

    image = make_media(tmp_path, width=40, height=30, alt="A red square", color=(200, 0, 0))
    assert fake.blobs[cid].data == image.read_bytes()

``image_media(folder, 3, src="https://example.com/img/{n}.jpg")`` makes several plain-coloured images with
their ``src`` and ``alt`` numbered; ``gallery(folder, 2)`` several of different sizes.
"""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

from PIL import Image

from scheduler.media.model import Card, Media

_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
COLOURS = [(200, 30, 30), (30, 160, 60), (40, 60, 200), (230, 200, 20), (120, 40, 160)]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def image_bytes(
    width: int,
    height: int,
    *,
    mime: str = "image/jpeg",
    color: tuple[int, int, int] = (200, 30, 30),
    noise: bool = False,
    seed: int = 0,
) -> bytes:
    """An encoded image: a plain colour, or random noise (which does not compress: a big file)."""
    if noise:
        rng = random.Random(seed)
        image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), color)
    buffer = io.BytesIO()
    image.save(buffer, _FORMATS[mime])
    return buffer.getvalue()


def media_from_bytes(folder: Path, data: bytes, *, alt: str, mime: str, src: str | None = None) -> Media:
    """The :class:`Media` of encoded image bytes, written to ``folder`` under their hash."""
    digest = hashlib.sha256(data).hexdigest()
    path = folder / f"{digest}{_SUFFIX[mime]}"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    with Image.open(io.BytesIO(data)) as opened:
        width, height = opened.size
    return Media(
        src=src or f"images/{digest[:8]}{_SUFFIX[mime]}",
        alt=alt,
        path=path,
        mime=mime,
        width=width,
        height=height,
        size=len(data),
        sha256=digest,
    )


def make_media(
    folder: Path,
    *,
    alt: str = "A red square on white",
    width: int = 40,
    height: int = 30,
    mime: str = "image/jpeg",
    color: tuple[int, int, int] = (200, 30, 30),
    noise: bool = False,
    seed: int = 0,
) -> Media:
    """A processed image as the media stage makes it: a real file, named by its content hash."""
    data = image_bytes(width, height, mime=mime, color=color, noise=noise, seed=seed)
    return media_from_bytes(folder, data, alt=alt, mime=mime)


def gallery(folder: Path, count: int, *, alt: str = "Picture {n} of the article") -> tuple[Media, ...]:
    """``count`` different small images (different colours and sizes), each with its own alt text."""
    return tuple(
        make_media(
            folder,
            alt=alt.format(n=n + 1),
            width=40 + 8 * n,
            height=30 + 4 * n,
            color=(40 * n % 256, 200 - 30 * n, 90),
        )
        for n in range(count)
    )


def image_media(
    folder: Path,
    count: int = 1,
    *,
    src: str = "images/photo{n}.jpg",
    mime: str = "image/jpeg",
    size: tuple[int, int] = (64, 48),
    alt: str = "Photo {n}: a plain coloured rectangle",
) -> tuple[Media, ...]:
    """``count`` plain-coloured images written to ``folder`` (named by their hash; distinct up to five);
    ``src`` and ``alt`` are formatted with ``n`` (1-based), e.g. ``src="https://example.com/img/{n}.jpg"``
    for a public image."""
    return tuple(
        media_from_bytes(
            folder,
            image_bytes(*size, mime=mime, color=COLOURS[(n - 1) % len(COLOURS)]),
            alt=alt.format(n=n),
            mime=mime,
            src=src.format(n=n),
        )
        for n in range(1, count + 1)
    )


def card(folder: Path, *, thumb: bool = True, uri: str = "https://example.com/article") -> Card:
    """A link card as the cards stage makes it, with a small JPEG thumbnail (or none)."""
    picture = make_media(folder, alt="", width=120, height=63, color=(20, 120, 220)) if thumb else None
    return Card(uri=uri, title="The article's title", description="What the article says.", thumb=picture)
