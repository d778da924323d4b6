"""Posts as cards: what a card template needs of a preview post, a queued delivery or an unreadable article.

A card is built from the same values ``preview --json`` prints (parts, lengths, limit, problems, slot, rule),
its text cut into links by :mod:`scheduler.web.entities`. Images are inlined as small ``data:`` thumbnails of
the processed files (:mod:`scheduler.media`), so that a card never makes the browser fetch anything; an image
without a workspace to read it from shows its alt text instead.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.config.models import ChannelSettings
from scheduler.errors import ArticleError, UserError
from scheduler.media.model import Card as LinkCardValue
from scheduler.media.model import Media
from scheduler.media.prepare import MEDIA_FOLDER, left_out_notes
from scheduler.media.process import thumbnail
from scheduler.models import Post
from scheduler.store import Delivery
from scheduler.web.entities import Segment, segments

_MAX_INLINE_IMAGE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    segments: list[Segment]
    length: int
    over: bool
    limit: int | None = None
    """This part's own limit (Telegram: a photo's caption, 1024), else None: the card's ``limit``."""


@dataclass(frozen=True, slots=True)
class Image:
    alt: str
    data_uri: str | None
    note: str = ""
    """Type, pixels and bytes as sent."""


@dataclass(frozen=True, slots=True)
class LinkCard:
    uri: str
    title: str
    description: str
    domain: str
    thumb: Image | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """One post as a card: who posts it, its parts, its length against the limit, its problems and slot."""

    channel: str
    network: str
    handle: str
    title: str
    source: str
    parts: list[Part]
    limit: int | None
    unit: str
    problems: list[str]
    when: str | None
    when_iso: str | None
    slot_note: str | None = None
    rule: str | None = None
    template: str | None = None
    shortened: bool = False
    active: bool = True
    state: str | None = None
    delivery_id: str | None = None
    images: list[Image] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """The article's images this post does not carry, and why."""
    link_card: LinkCard | None = None
    warnings: list[str] = field(default_factory=list)
    """What preview warns about this post (a link page that cannot be read, a thumbnail not had)."""

    @property
    def initial(self) -> str:
        return (self.channel[:1] or "?").upper()


def handle_of(channel: str, settings: ChannelSettings | None) -> str:
    """How the account is shown on its card: the Bluesky handle, the username, the chat, else nothing."""
    if settings is not None:
        for value in (settings.handle, settings.username):
            if value:
                return "@" + value.lstrip("@")
        if settings.chat_id:
            return settings.chat_id
    return ""


def when_text(at: datetime | None) -> str | None:
    return at.strftime("%a %Y-%m-%d %H:%M %Z") if at is not None else None


def _parts(
    texts: Sequence[str], lengths: Sequence[int], limits: Sequence[int], network: str, base_url: str | None
) -> list[Part]:
    """Each part with its length against its own limit (``limits``: one per part)."""
    return [
        Part(
            number=index + 1,
            segments=segments(text, network, base_url),
            length=lengths[index] if index < len(lengths) else 0,
            over=index < len(lengths) and lengths[index] > limits[index],
            limit=limits[index],
        )
        for index, text in enumerate(texts)
    ]


def inline_image(path: Path, alt: str) -> Image:
    """A local image file as a ``data:`` URI (none when it is missing, too big or not an image)."""
    mime = mimetypes.guess_type(path.name)[0] or ""
    try:
        if not mime.startswith("image/") or path.stat().st_size > _MAX_INLINE_IMAGE:
            return Image(alt=alt, data_uri=None)
        data = path.read_bytes()
    except OSError:
        return Image(alt=alt, data_uri=None)
    return Image(alt=alt, data_uri=f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")


def _images(media: Iterable[Media], root: Path | None) -> list[Image]:
    """Each image as a small ``data:`` thumbnail made from the processed file (the page stays
    self-contained and light), with its alt text; without a workspace, the alt text alone."""
    images = []
    for item in media:
        if root is None:
            images.append(Image(alt=item.alt, data_uri=None))
            continue
        try:
            data, mime = thumbnail(item.path, item.sha256, folder=root / MEDIA_FOLDER)
        except (OSError, ValueError, UserError):  # the cache was emptied, or Pillow cannot read it
            images.append(Image(alt=item.alt, data_uri=None))
            continue
        uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
        note = f"{item.mime} {item.width}x{item.height}, {item.size:,} bytes"
        images.append(Image(alt=item.alt, data_uri=uri, note=note))
    return images


def _link_card(card: LinkCardValue | Mapping[str, Any] | None) -> LinkCard | None:
    """The card's values for the template: a post's :class:`~scheduler.media.model.Card` (its thumbnail
    inlined), or a ``card`` of ``preview --json``."""
    if card is None:
        return None
    if isinstance(card, LinkCardValue):
        uri, title, description = card.uri, card.title, card.description
        thumb = inline_image(card.thumb.path, "") if card.thumb is not None else None
    else:
        uri, title, description = (str(card.get(key) or "") for key in ("uri", "title", "description"))
        thumb = None
    if not uri:
        return None
    domain = uri.split("://", 1)[-1].split("/", 1)[0]
    return LinkCard(uri, title, description, domain, thumb)


def post_card(post: Post, channels: Mapping[str, ChannelSettings], root: Path | None = None) -> Card:
    """The card of a preview post (``media`` and ``card`` are read when the post has them)."""
    settings = channels.get(post.channel)
    base_url = settings.base_url if settings else None
    return Card(
        channel=post.channel,
        network=post.network,
        handle=handle_of(post.channel, settings),
        title=post.article.title,
        source=post.source,
        parts=_parts(post.parts, post.lengths, post.limits, post.network, base_url),
        limit=post.limit,
        unit=post.unit,
        problems=list(post.problems),
        when=when_text(post.scheduled_at),
        when_iso=post.scheduled_at.isoformat() if post.scheduled_at else None,
        slot_note=post.slot_note,
        rule=post.rule,
        template=post.template,
        shortened=post.shortened,
        active=post.active,
        images=_images(post.media, root),
        left_out=list(post.left_out) or left_out_notes(post.article, post.media, post.network),
        link_card=_link_card(post.card),
    )


def delivery_card(delivery: Delivery, channels: Mapping[str, ChannelSettings]) -> Card:
    """The card of a queued delivery: its stored parts, slot (in its schedule's zone) and state."""
    settings = channels.get(delivery.channel)
    at = delivery.local_scheduled_at
    return Card(
        channel=delivery.channel,
        network=delivery.network,
        handle=handle_of(delivery.channel, settings),
        title=delivery.title,
        source=delivery.source,
        parts=_parts(
            delivery.parts,
            delivery.lengths,
            delivery.limits,
            delivery.network,
            settings.base_url if settings else None,
        ),
        limit=delivery.limit or None,
        unit=delivery.unit,
        problems=[delivery.last_error] if delivery.last_error else [],
        when=when_text(at),
        when_iso=at.isoformat(),
        rule=delivery.rule,
        template=delivery.template,
        state=delivery.state.value,
        delivery_id=delivery.id,
    )


def unreadable_cards(errors: Iterable[ArticleError]) -> list[Card]:
    """One problem card per article that could not be read, with every problem naming its file and line."""
    problems: dict[str, list[str]] = {}
    for error in errors:
        problems.setdefault(error.source, []).append(str(error).replace("\n  hint: ", "; "))
    return [
        Card(
            channel="",
            network="unreadable",
            handle="",
            title="This article could not be read",
            source=source,
            parts=[],
            limit=None,
            unit="",
            problems=found,
            when=None,
            when_iso=None,
            active=False,
        )
        for source, found in problems.items()
    ]
