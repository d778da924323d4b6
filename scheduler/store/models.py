"""The values the store hands out: deliveries (outbox rows), transitions, channel pauses, upsert outcomes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.length.parts import part_limits

if TYPE_CHECKING:  # imported where an Article is rebuilt: the quick queue commands never do
    from scheduler.models import Article


class DeliveryState(StrEnum):
    """Where a delivery is in its life.

    ::

        planned ──claim──▶ sending ──▶ sent
           ▲                  │ ├──▶ retrying ──claim──▶ sending ...
           │                  │ ├──▶ failed     (permanent; `queue retry` -> planned)
           │                  │ └──▶ unknown    (cannot tell; `queue resolve` -> sent | planned)
           └── cancelled ◀────┘ (planned, retrying, failed, unknown can be cancelled)
    """

    PLANNED = "planned"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"


CLAIMABLE: tuple[DeliveryState, ...] = (DeliveryState.PLANNED, DeliveryState.RETRYING)
"""States the dispatcher may claim once they are due."""

LIVE: tuple[DeliveryState, ...] = (
    DeliveryState.PLANNED,
    DeliveryState.RETRYING,
    DeliveryState.SENDING,
    DeliveryState.UNKNOWN,
)
"""States that still hold their slot and may still go out."""


class UpsertOutcome(StrEnum):
    """What :meth:`Store.upsert` did with a post (compares equal to its string value)."""

    ADDED = "added"
    """A new delivery (no earlier one, or the earlier one was cancelled or failed and the text changed)."""
    UPDATED = "updated"
    """A planned delivery got the new text; its slot, id and idempotency key are kept."""
    UNCHANGED = "unchanged"
    """The same text is already queued (or was sent, cancelled or failed): nothing changed."""
    ALREADY_SENT = "already-sent"
    """The text changed but the post is already out; pass ``repost=True`` to send it again."""
    REPOSTED = "reposted"
    """The text changed after it was sent and a repost was asked for: a new delivery with a new key."""
    SKIPPED = "skipped"
    """Not queued: the channel is disabled, the post has problems, or it has no slot."""
    IN_FLIGHT = "in-flight"
    """The text changed, but the delivery is sending, retrying or unknown: left alone (its key is in use)."""
    RENAMED = "renamed"
    """The article's file was renamed (or moved): its delivery names the new file; nothing else changed."""
    DUPLICATE = "duplicate"
    """Another file holds the same article (the same identity) and has the delivery: not posted twice."""
    HELD_BACK = "held-back"
    """A new outbox: ``publish_at`` is more than a day before the outbox's epoch; ``--backfill`` queues it."""


def content_hash(parts: Sequence[str]) -> str:
    """sha256 of the parts, so that any edit of any part changes it."""
    encoded = json.dumps(list(parts), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_iso(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def article_to_json(article: Article) -> dict[str, Any]:
    """The Article as plain JSON (dates as ISO 8601 strings); :func:`article_from_json` reverses it."""
    return {
        "source": article.source,
        "title": article.title,
        "body": article.body,
        "url": article.url,
        "hashtags": [tag.text for tag in article.hashtags],
        "reference": article.reference,
        "explore": article.explore,
        "published": _iso(article.published),
        "publish_at": _iso(article.publish_at),
        "channels": list(article.channels) if article.channels is not None else None,
        "template": article.template,
        "id": article.id,
        "images": [image.to_json() for image in article.images],
        "extra": json.loads(json.dumps(article.extra, ensure_ascii=False, default=str)),
    }


def article_from_json(data: dict[str, Any]) -> Article:
    """Rebuild the Article stored with a delivery (``extra`` values that were not JSON come back as text)."""
    from scheduler.media.model import ImageRef  # noqa: PLC0415  (see TYPE_CHECKING above)
    from scheduler.models import Article, Hashtag  # noqa: PLC0415

    channels = data.get("channels")
    return Article(
        source=str(data.get("source", "")),
        title=str(data.get("title", "")),
        body=str(data.get("body", "")),
        url=data.get("url"),
        hashtags=tuple(Hashtag(str(text)) for text in data.get("hashtags") or ()),
        reference=data.get("reference"),
        explore=data.get("explore"),
        published=_parse_iso(data.get("published")),
        publish_at=_parse_iso(data.get("publish_at")),
        channels=tuple(channels) if channels is not None else None,
        template=data.get("template"),
        extra=dict(data.get("extra") or {}),
        id=data.get("id"),
        images=tuple(ImageRef.from_json(item) for item in data.get("images") or () if isinstance(item, dict)),
    )


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, or UTC when it is missing or unknown to this machine."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class ClaimRequest:
    """What a claim asks for (:meth:`~scheduler.store.dispatch_ops.DispatchMixin.claim_due`): the heads of
    at most ``limit`` channels due by ``now``, for ``worker``, leased for ``lease``."""

    now: datetime
    worker: str
    lease: timedelta
    limit: int = 1


@dataclass(frozen=True)
class Delivery:
    """One outbox row: a post for one channel, its slot, its state, and what the network answered.

    Times are aware and in UTC; :attr:`local_scheduled_at` is the slot in the zone of the schedule that
    chose it. ``lengths``, ``limit``, ``first_limit``, ``unit``, ``zone``, ``generation`` and ``receipt``
    extend the contract of ``docs/store-api.md``; ``generation`` counts the deliveries of one article on one
    channel (1, then 2 after a repost, ...); ``identity`` is the article's (:mod:`scheduler.identity`),
    whatever its file is called.
    """

    id: str
    source: str
    channel: str
    network: str
    rule: str
    template: str
    parts: tuple[str, ...]
    content_hash: str
    article: dict[str, Any]
    state: DeliveryState
    scheduled_at: datetime
    idempotency_key: str
    attempts: int
    next_attempt_at: datetime | None
    journal: dict[str, Any]
    remote_ids: tuple[str, ...]
    remote_url: str | None
    last_error: str | None
    claimed_by: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    lengths: tuple[int, ...] = ()
    limit: int = 0
    unit: str = ""
    zone: str = "UTC"
    generation: int = 1
    receipt: dict[str, Any] = field(default_factory=dict)
    identity: str = ""
    first_limit: int | None = None
    """The limit of the first part when it is not ``limit`` (``Post.first_limit``), else None."""

    @property
    def title(self) -> str:
        return str(self.article.get("title", ""))

    @property
    def limits(self) -> tuple[int, ...]:
        """The limit of each part, first part first, as ``Post.limits`` (``preview --json``'s ``limits``)."""
        return part_limits(self.limit, self.first_limit, len(self.parts))

    @property
    def local_scheduled_at(self) -> datetime:
        """``scheduled_at`` in the zone of the schedule that planned it (UTC when unknown)."""
        return self.scheduled_at.astimezone(zone_named(self.zone))

    def to_article(self) -> Article:
        """The Article this delivery was rendered from (for the adapter's ``Outgoing``)."""
        return article_from_json(self.article)


@dataclass(frozen=True)
class Transition:
    """One state change of a delivery; ``from_state`` is None for its creation. Every one has a reason."""

    delivery_id: str
    at: datetime
    from_state: DeliveryState | None
    to_state: DeliveryState
    reason: str


@dataclass(frozen=True)
class ChannelPause:
    """A channel that must not post until ``until`` (None: until resumed), and why."""

    channel: str
    until: datetime | None
    reason: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.until is None or self.until > now


LONG_PAST = datetime(1970, 1, 1, tzinfo=UTC)
"""What a stored time that cannot be read (edited by hand, damaged) reads as: long past, so a pause or a lease
with it is over and a delivery with it is due, and a start-up never fails because of one row."""


def utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is a bug (the store never guesses a zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} given to the store: pass an aware datetime")
    return value.astimezone(UTC)
