"""Fit one image file to what a network accepts, with Pillow, and keep the result in the media cache.

    result = process_image(Path("posts/photo.jpg"), limits, folder=root / "var/media")

What happens to an image, in order:

1. the EXIF orientation is applied to the pixels (a phone photo shows upright everywhere);
2. every piece of metadata is dropped: EXIF (GPS location, camera, time), XMP, IPTC, comments, the colour
   profile (the pixels are kept as they are, read as sRGB);
3. the type is kept when the network takes it, else it becomes the network's first type (a PNG with
   transparency for a JPEG-only network is put on white);
4. it is scaled down, never up, to ``max_side`` and ``max_pixels``;
5. it is encoded, and re-encoded until it has at most ``max_bytes``: JPEG and WebP at quality
   :data:`QUALITIES` in turn (the first guessed from a trial on a quarter of the image, so a big photo is
   seldom encoded twice), then smaller by the ratio of the sizes, until it fits.

An animated GIF stays animated, byte for byte (but its comments and extensions are what the file has), where
the network takes GIF and the file fits its limits; anywhere else its first frame is sent as a still image.
Video is not an image here: it is refused when the article is read.

The result is cached: its file is named by the SHA-256 of its content, and an index entry keyed by the
source's content hash and the limits points at it, so the second preview of the same image for the same
network decodes and encodes nothing (the source's hash is remembered by path, size and modification time).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import UnidentifiedImageError

from scheduler.errors import UserError
from scheduler.lazy import Image, ImageOps
from scheduler.media.model import MediaLimits

PROCESS_VERSION = 1
"""Part of every cache key: a change in how images are processed makes a new entry."""
QUALITIES = (85, 75, 65)
_ORIENTATION = 0x0112
MIN_SIDE = 64
"""An image is not made smaller than this on its shorter side to fit a byte limit: that is a problem."""
_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif"}
_MIMES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}


class ImageProblem(UserError):
    """The image cannot be used for this network (not an image, too large to fit even when small)."""


class OverByteLimit(ImageProblem):
    """The image cannot be made as small as the byte limit, even at :data:`MIN_SIDE` (the preview names
    the channel key that set the limit, where one did)."""


@dataclass(frozen=True, slots=True)
class Processed:
    """A processed file in the cache: ``path`` is named by ``sha256`` of its content."""

    path: Path
    mime: str
    width: int
    height: int
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.path.name,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "size": self.size,
            "sha256": self.sha256,
        }


def limits_key(limits: MediaLimits, max_bytes: int) -> str:
    return json.dumps(
        [PROCESS_VERSION, max_bytes, limits.max_pixels, limits.max_side, list(limits.mimes)],
        separators=(",", ":"),
    )


def content_hash(path: Path, folder: Path) -> str:
    """The SHA-256 of ``path``'s content, remembered under ``folder`` by path, size and modification time."""
    stat = path.stat()
    name = hashlib.sha256(os.path.abspath(path).encode("utf-8", "surrogateescape")).hexdigest()
    memo = folder / "sources" / f"{name}.json"
    signature = [stat.st_size, stat.st_mtime_ns]
    try:
        saved = json.loads(memo.read_text("utf-8"))
        if saved.get("signature") == signature and isinstance(saved.get("sha256"), str):
            return str(saved["sha256"])
    except (OSError, ValueError):
        pass
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    write_cache_file(memo, json.dumps({"signature": signature, "sha256": digest}).encode())
    return digest


class LastDecoded:
    """The last image decoded, upright, so that one photo fitted for several networks in a row (an article
    going to several channels) is decoded once. ``entry`` is replaced whole, never changed in place, and the
    image is only read afterwards, so threads that share one (the service's ingest and feed polls) at worst
    decode again."""

    def __init__(self) -> None:
        self.entry: tuple[tuple[str, tuple[int, int] | None], Image.Image] | None = None


def process_image(
    source: Path,
    limits: MediaLimits,
    *,
    folder: Path,
    max_bytes: int | None = None,
    last: LastDecoded | None = None,
) -> Processed:
    """``source`` fitted to ``limits`` (``max_bytes`` overrides its byte limit: a card thumb), from the
    cache under ``folder`` when it was processed before (``last``: keep the decoded image for the next
    call)."""
    budget = limits.max_bytes if max_bytes is None else max_bytes
    digest = content_hash(source, folder)
    key = hashlib.sha256(f"{digest}:{limits_key(limits, budget)}".encode()).hexdigest()
    index = folder / "index" / f"{key}.json"
    cached = _from_index(index, folder)
    if cached is not None:
        return cached
    data, mime, width, height = _fit(source, limits, budget, (digest, last))
    sha = hashlib.sha256(data).hexdigest()
    path = folder / "files" / f"{sha}{_EXTENSIONS[mime]}"
    if not path.is_file():
        write_cache_file(path, data)
    result = Processed(path, mime, width, height, len(data), sha)
    write_cache_file(index, json.dumps(result.to_json()).encode())
    return result


def describe_original(source: Path, *, folder: Path) -> Processed:
    """``source`` as it is (for a network that fetches the image itself): its type, size and pixels."""
    with _open(source) as image:
        mime = _MIMES.get(image.format or "")
        if mime is None:
            raise ImageProblem(f"is a {image.format} image; tagcast takes JPEG, PNG, WebP and GIF")
        rotated = image.getexif().get(_ORIENTATION) in {5, 6, 7, 8}
        width, height = (image.height, image.width) if rotated else image.size
    return Processed(source, mime, width, height, source.stat().st_size, content_hash(source, folder))


def _from_index(index: Path, folder: Path) -> Processed | None:
    try:
        saved = json.loads(index.read_text("utf-8"))
        path = folder / "files" / str(saved["file"])
        if not path.is_file():
            return None
        return Processed(
            path,
            str(saved["mime"]),
            int(saved["width"]),
            int(saved["height"]),
            int(saved["size"]),
            str(saved["sha256"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _open(source: Path) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(source)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ImageProblem(
                f"has more than {Image.MAX_IMAGE_PIXELS:,} pixels; tagcast refuses images that large"
            ) from None
        except UnidentifiedImageError:
            raise ImageProblem("is not an image (Pillow cannot read it)") from None
        except OSError as exc:
            raise ImageProblem(f"cannot be read: {exc.strerror or exc}") from None


_Memo = tuple[str, LastDecoded | None]


def _fit(source: Path, limits: MediaLimits, budget: int, memo: _Memo) -> tuple[bytes, str, int, int]:
    with _open(source) as image:
        try:
            return _fit_image(image, source, limits, budget, memo)
        except (OSError, SyntaxError, ValueError) as exc:  # a truncated or corrupt file, found while decoding
            raise ImageProblem(f"cannot be decoded: {exc}") from None


def _fit_image(
    image: Image.Image, source: Path, limits: MediaLimits, budget: int, memo: _Memo
) -> tuple[bytes, str, int, int]:
    source_mime = _MIMES.get(image.format or "", "")
    rotated = image.getexif().get(_ORIENTATION) in {5, 6, 7, 8}
    width, height = (image.height, image.width) if rotated else (image.width, image.height)
    scale = _scale(width, height, limits)
    if getattr(image, "is_animated", False) and source_mime == "image/gif":
        size = source.stat().st_size
        if "image/gif" in limits.mimes and scale == 1 and size <= budget:
            return source.read_bytes(), "image/gif", image.width, image.height
    target = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    draft = None
    if image.format == "JPEG" and scale <= 0.5:  # decode at 1/2, 1/4 or 1/8 size: much faster
        draft = (target[1], target[0]) if rotated else target
    mime = source_mime if source_mime in limits.mimes and source_mime != "image/gif" else limits.mimes[0]
    if mime == "image/gif" and "image/png" in limits.mimes:
        mime = "image/png"  # a still image keeps its colours as PNG
    digest, last = memo
    entry = last.entry if last is not None else None
    if entry is not None and entry[0] == (digest, draft):
        upright = entry[1]
    else:
        image.seek(0)
        if draft is not None:
            image.draft("RGB", draft)
        ImageOps.exif_transpose(image, in_place=True)
        image.load()
        upright = image
        if last is not None:
            last.entry = ((digest, draft), upright)
    pixels = _convert(upright, mime)
    if pixels.size != target:
        pixels = pixels.resize(target, Image.Resampling.LANCZOS)
    estimate = None
    if source_mime == mime == "image/jpeg":
        estimate = math.ceil(source.stat().st_size * scale * scale)
    return _encode_within(pixels, mime, budget, estimate)


def _scale(width: int, height: int, limits: MediaLimits) -> float:
    scale = 1.0
    if limits.max_side is not None and max(width, height) > limits.max_side:
        scale = limits.max_side / max(width, height)
    if limits.max_pixels is not None and width * height * scale * scale > limits.max_pixels:
        scale = math.sqrt(limits.max_pixels / (width * height))
    return scale


def _convert(image: Image.Image, mime: str) -> Image.Image:
    """The pixels of ``image`` (a copy of the file's, upright) in a mode ``mime`` can hold, with no metadata
    left on them."""
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    converted = image
    if mime == "image/jpeg":
        if has_alpha:
            rgba = image.convert("RGBA")
            converted = Image.new("RGB", rgba.size, "white")
            converted.paste(rgba, mask=rgba.getchannel("A"))
        elif image.mode not in {"RGB", "L"}:
            converted = image.convert("RGB")
    elif image.mode not in {"RGB", "RGBA", "L", "LA"}:
        converted = image.convert("RGBA" if has_alpha else "RGB")
    converted.info = {}
    return converted


def _encode(image: Image.Image, mime: str, quality: int) -> bytes:
    out = io.BytesIO()
    image.info = {}
    if mime == "image/jpeg":
        image.save(out, "JPEG", quality=quality, optimize=False, progressive=False)
    elif mime == "image/webp":
        image.save(out, "WEBP", quality=quality, method=4)
    elif mime == "image/png":
        image.save(out, "PNG", compress_level=6)
    else:
        image.save(out, _FORMATS[mime])
    return out.getvalue()


def _guess_quality(image: Image.Image, mime: str, budget: int, estimate: int | None) -> int:
    """The first of :data:`QUALITIES` likely to fit ``budget``: the first when ``estimate`` (the source's
    bytes, scaled to the new size, for a JPEG made from a JPEG) is well under it; else the first whose trial
    on eight strips across the image (a sixteenth of it), scaled up, fits. A big photo is then seldom
    encoded twice."""
    if estimate is not None and estimate <= budget * 0.8:
        return QUALITIES[0]
    if image.width * image.height < 1_000_000:
        return QUALITIES[0]
    strip = max(1, image.height // 128)
    trial = Image.new(image.mode, (image.width, strip * 8))
    for number in range(8):
        top = (2 * number + 1) * image.height // 16 - strip // 2
        trial.paste(image.crop((0, top, image.width, top + strip)), (0, number * strip))
    scale = image.height / (strip * 8)
    for quality in QUALITIES:
        if len(_encode(trial, mime, quality)) * scale <= budget * 0.95:
            return quality
    return QUALITIES[-1]


def _encode_within(
    image: Image.Image, mime: str, budget: int, estimate: int | None = None
) -> tuple[bytes, str, int, int]:
    lossy = mime in {"image/jpeg", "image/webp"}
    qualities = list(QUALITIES)
    if lossy:
        qualities = qualities[qualities.index(_guess_quality(image, mime, budget, estimate)) :]
    while True:
        data = b""
        for quality in qualities if lossy else [0]:
            data = _encode(image, mime, quality)
            if len(data) <= budget:
                return data, mime, image.width, image.height
        shrink = min(0.9, math.sqrt(budget / len(data)) * 0.95)
        width, height = math.floor(image.width * shrink), math.floor(image.height * shrink)
        if min(width, height) < MIN_SIDE:
            raise OverByteLimit(f"cannot be made smaller than {budget:,} bytes")
        image = image.resize((width, height), Image.Resampling.LANCZOS)
        qualities = [QUALITIES[-1]] if lossy else qualities


THUMB_SIDE = 480
"""The longer side of a preview thumbnail (embedded in the HTML preview as a ``data:`` URI)."""


def thumbnail(path: Path, sha256: str, *, folder: Path) -> tuple[bytes, str]:
    """A small copy of the processed image ``path`` for a preview card: (bytes, mime), cached by hash."""
    cached = folder / "thumbs" / f"{sha256}-{THUMB_SIDE}"
    for suffix, mime in ((".jpg", "image/jpeg"), (".png", "image/png")):
        if cached.with_suffix(suffix).is_file():
            return cached.with_suffix(suffix).read_bytes(), mime
    with _open(path) as image:
        image.draft("RGB", (THUMB_SIDE, THUMB_SIDE))
        image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
        mime = "image/png" if alpha else "image/jpeg"
        pixels = _convert(image.convert("RGBA") if alpha else image, mime)
        data = _encode(pixels, mime, 80)
    write_cache_file(cached.with_suffix(".png" if alpha else ".jpg"), data)
    return data, mime


def write_cache_file(path: Path, data: bytes) -> None:
    """Write a cache file whole or not at all (no fsync: a cache file lost in a crash is made again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
