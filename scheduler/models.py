"""The values that flow through the pipeline: article -> post -> planned post."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from scheduler.length.parts import part_limits
from scheduler.media.model import Card, ImageRef, Media


@dataclass(frozen=True, slots=True)
class Hashtag:
    """A hashtag as written (without ``#``, in its preferred spelling) and its matching key."""

    text: str

    @property
    def key(self) -> str:
        return self.text.casefold()

    def __str__(self) -> str:
        return f"#{self.text}"


@dataclass(frozen=True, slots=True)
class Article:
    """One summary to publish, whatever file format it came from.

    ``source`` is the file path relative to the workspace (``posts/a.json#2`` for the third entry of a JSON
    list).
    ``extra`` holds every other front-matter key; templates see them too.
    ``id`` is the article's own identity key, if it has one (:mod:`scheduler.identity`).
    """

    source: str
    title: str
    body: str
    url: str | None = None
    hashtags: tuple[Hashtag, ...] = ()
    reference: str | None = None
    explore: str | None = None
    published: datetime | None = None
    publish_at: datetime | None = None
    channels: tuple[str, ...] | None = None
    template: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    images: tuple[ImageRef, ...] = ()
    """The article's images in order (``image``/``image_alt`` or ``images: [{src, alt}]``)."""

    @property
    def tag_keys(self) -> frozenset[str]:
        return frozenset(tag.key for tag in self.hashtags)


@dataclass(frozen=True, slots=True)
class Post:
    """An article rendered and fitted for one channel: the exact texts that will be sent.

    ``parts`` has one text, or several for a thread; ``lengths`` is each part as the network counts it.
    ``problems`` is empty when the post can be sent as it is. ``active`` is false for a disabled channel:
    such a post is previewed but never queued. ``schedule`` names the schedule its route plans it by.

    The stages hand each other new values, never fill one in later: :func:`scheduler.compose.compose_post`
    makes the post, :func:`scheduler.planning.plan_posts` returns it planned (``scheduled_at`` and
    ``slot_note`` set), and a later stage adds to it with :func:`dataclasses.replace` or
    :meth:`with_problems`.
    """

    article: Article
    channel: str
    network: str
    rule: str
    template: str
    parts: tuple[str, ...]
    lengths: tuple[int, ...]
    limit: int
    unit: str
    problems: tuple[str, ...] = ()
    shortened: bool = False
    active: bool = True
    schedule: str = ""
    """The name of the schedule (``[schedules.NAME]``) the post's route plans it by."""
    scheduled_at: datetime | None = None
    slot_note: str | None = None
    media: tuple[Media, ...] = ()
    """The article's images fitted to this network (:mod:`scheduler.media`), as they will be uploaded."""
    card: Card | None = None
    """The link card sent with the post (Bluesky ``link_card``), or None."""
    left_out: tuple[str, ...] = ()
    """The article's images this post is not sent, each with why (``prepare_media``'s ``left_out``)."""
    first_limit: int | None = None
    """The limit of the first part when it is not ``limit`` (Telegram: the caption of a photo), else None."""

    @property
    def source(self) -> str:
        return self.article.source

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def limits(self) -> tuple[int, ...]:
        """The limit of each part, first part first (``limit`` for every part unless ``first_limit``)."""
        return part_limits(self.limit, self.first_limit, len(self.parts))

    def with_problems(self, *problems: str) -> Post:
        """This post with ``problems`` added after its own."""
        return replace(self, problems=(*self.problems, *problems)) if problems else self

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "title": self.article.title,
            "channel": self.channel,
            "network": self.network,
            "rule": self.rule,
            "template": self.template,
            "parts": list(self.parts),
            "lengths": list(self.lengths),
            "limit": self.limit,
            "limits": list(self.limits),
            "unit": self.unit,
            "shortened": self.shortened,
            "active": self.active,
            "scheduled_at": self.scheduled_at.isoformat() if self.scheduled_at else None,
            "slot_note": self.slot_note,
            "hashtags": [tag.text for tag in self.article.hashtags],
            "problems": list(self.problems),
            "media": [item.to_json() for item in self.media],
            "card": self.card.to_json() if self.card is not None else None,
            "left_out": list(self.left_out),
        }
