"""The values of images and link cards as they flow with a post.

An article names its images (:class:`ImageRef`: a path relative to the article file or an https URL, and its
alt text). Before a post is previewed or sent, each image is fitted to the network of the channel
(:class:`MediaLimits`, declared by the adapter class) and becomes a :class:`Media`: a processed file in the
media cache, named by its content hash, with its type, size and pixel dimensions. A :class:`Card` is the link
card a network shows under a post (Bluesky builds none itself: the client sends it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from scheduler.clusters import grapheme_count

MAX_IMAGES = 4
"""At most this many images per article (every network tagcast knows takes at least four)."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An image as the article names it: ``src`` as written (a path relative to the article file, or an
    https URL) and its alt text (``None`` when the article gives none: a problem unless the channel opts
    out)."""

    src: str
    alt: str | None = None
    optional: bool = False
    """An image the post may go without (a feed entry's enclosure, which has no alt text): where it would be
    a problem (no alt text, a failed download) it is left out instead, and said so."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"src": self.src, "alt": self.alt}
        if self.optional:
            data["optional"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageRef:
        alt = data.get("alt")
        return cls(
            src=str(data.get("src", "")),
            alt=None if alt is None else str(alt),
            optional=data.get("optional") is True,
        )


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What a network accepts for an image, declared by its adapter class (``Adapter.media_limits``).

    ``max_bytes`` is per image after processing; ``max_pixels`` bounds width x height and ``max_side`` the
    longer side (``None``: no such rule). ``mimes`` are the types the network takes; anything else is
    re-encoded to the first. ``alt_max`` bounds the alt text (``None``: the network has no alt text
    field, so the alt is not sent), counted in ``alt_unit``: ``"graphemes"`` (what a reader sees as one
    character) where the server counts so or bounds nothing, else ``"characters"`` (code points, never fewer
    than graphemes: the safe count when the server's unit is unknown). ``by_url`` is true for a network that
    fetches the image itself from a public https URL (Threads, Slack): a local file cannot be sent there.
    ``card_thumb_bytes`` bounds a link card's thumbnail (Bluesky).
    """

    max_images: int = MAX_IMAGES
    max_bytes: int = 5_000_000
    max_pixels: int | None = None
    max_side: int | None = None
    mimes: tuple[str, ...] = ("image/jpeg", "image/png")
    alt_max: int | None = 1000
    alt_unit: Literal["graphemes", "characters"] = "characters"
    by_url: bool = False
    card_thumb_bytes: int | None = None

    def alt_length(self, alt: str) -> int:
        """The length of ``alt`` as the network counts it (``alt_unit``)."""
        return grapheme_count(alt) if self.alt_unit == "graphemes" else len(alt)


@dataclass(frozen=True, slots=True)
class Media:
    """One image ready to upload for one network: the processed file ``path`` (in the media cache, named
    by ``sha256`` of its content), ``src`` and ``alt`` as the article gave them, its type, pixel dimensions
    and ``size`` in bytes after processing."""

    src: str
    alt: str
    path: Path
    mime: str
    width: int
    height: int
    size: int
    sha256: str

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()

    def to_json(self) -> dict[str, Any]:
        """The shape of ``media`` items in ``preview --json`` (docs/articles.md, "Seeing them")."""
        return {
            "src": self.src,
            "alt": self.alt,
            "mime": self.mime,
            "width": self.width,
            "height": self.height,
            "bytes": self.size,
        }


@dataclass(frozen=True, slots=True)
class Card:
    """A link card: the page's ``uri``, a title and description (empty strings allowed), and an optional
    thumbnail already fitted to the network's thumb limit."""

    uri: str
    title: str
    description: str
    thumb: Media | None = None

    def to_json(self) -> dict[str, Any]:
        """The shape of ``card`` in ``preview --json``: ``thumb`` is the thumbnail's ``src``, or null."""
        return {
            "uri": self.uri,
            "title": self.title,
            "description": self.description,
            "thumb": self.thumb.src if self.thumb is not None else None,
        }


@dataclass(frozen=True, slots=True)
class CardDraft:
    """A link card before its thumbnail is fitted: ``thumb_src`` is the article's first image or the page's
    ``og:image`` (an https URL or a path relative to the article), ``None`` for a card without one
    (:mod:`scheduler.media.cards`)."""

    uri: str
    title: str
    description: str
    thumb_src: str | None = None


@dataclass(frozen=True, slots=True)
class PageMeta:
    """What a page says about itself in its meta tags, as fetched at ``fetched_at`` (the link card cache in
    the store). ``error`` says why the page could not be read (then the other fields are ``None``)."""

    url: str
    fetched_at: datetime
    title: str | None = None
    description: str | None = None
    image: str | None = None
    error: str | None = None
