"""Turn the raw keys of one article (front matter or a JSON object) into an :class:`Article`.

Every format module gathers a :class:`RawArticle` (the values and the line of each key) and calls
:func:`build_article`, so the checks, messages and hints are the same whatever the file format.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from scheduler.articles.bodytext import split_body_hashtags
from scheduler.errors import ArticleError
from scheduler.hashtags import is_hashtag, normalize_hashtags, strip_hash
from scheduler.models import Article

KNOWN_KEYS = frozenset(
    {"title", "url", "tags", "publish_at", "published", "channels", "template", "reference", "explore", "id"}
)

_SEPARATORS = re.compile(r"[\s,]+")
_URL = re.compile(r"https?://[^\s/?#]+\S*", re.IGNORECASE)

TAGS_HINT = 'write a list, tags: [KhalkhinGol, MilitaryHistory], or a string, tags: "#KhalkhinGol #History"'
PUBLISH_AT_HINT = (
    "write ISO 8601 with a UTC offset, e.g. 2027-03-01T09:00:00+01:00 or 2027-03-01T08:00:00Z, or now"
)
PUBLISHED_HINT = "write an ISO 8601 date such as 2024-05-17 (or a date and time such as 2024-05-17T10:00:00Z)"


@dataclass(frozen=True, slots=True)
class RawArticle:
    """The keys of one article as read from its file, before any checking.

    ``key_lines`` gives the 1-based line of each key; ``start_line`` is where a missing key would go.
    """

    source: str
    file: str
    values: Mapping[str, Any]
    key_lines: Mapping[str, int]
    start_line: int = 1
    body: str = ""
    fallback_title: str | None = None
    extra_tags: Sequence[str] = field(default_factory=tuple)


def build_article(
    raw: RawArticle, *, aliases: Mapping[str, str] = {}, blocklist: Iterable[str] = ()
) -> Article:
    """Check and convert ``raw``; raise :class:`ArticleError` naming the key's line and how to fix it."""
    reader = _Reader(raw)
    title = reader.text("title") or raw.fallback_title
    if not title:
        raise ArticleError(
            raw.file,
            "the article has no title",
            line=reader.line("title"),
            hint='add "title: ..." to the front matter (or a "# Title" line in Markdown)',
        )
    body, body_tags = split_body_hashtags(raw.body)
    written_tags = [*reader.tags(), *raw.extra_tags, *body_tags]
    return Article(
        source=raw.source,
        title=title,
        body=body,
        url=reader.url(),
        hashtags=normalize_hashtags(written_tags, aliases=aliases, blocklist=blocklist),
        reference=reader.text("reference"),
        explore=reader.text("explore"),
        published=reader.published(),
        publish_at=reader.publish_at(),
        channels=reader.channels(),
        template=reader.text("template"),
        id=reader.text("id"),
        extra={str(key): value for key, value in raw.values.items() if key not in KNOWN_KEYS},
    )


def _means_now(value: Any) -> bool:
    """``publish_at: now``: send as soon as possible (the time the article is read)."""
    return isinstance(value, str) and value.strip().casefold() == "now"


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


class _Reader:
    def __init__(self, raw: RawArticle) -> None:
        self.raw = raw

    def line(self, key: str) -> int:
        return self.raw.key_lines.get(key, self.raw.start_line)

    def fail(self, key: str, message: str, hint: str) -> ArticleError:
        return ArticleError(self.raw.file, f"{key}: {message}", line=self.line(key), hint=hint)

    def get(self, key: str) -> Any:
        value = self.raw.values.get(key)
        return (value.strip() or None) if isinstance(value, str) else value

    def text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self.fail(key, f"expected text, got {_kind(value)}", f'put the value in quotes: {key}: "..."')

    def url(self) -> str | None:
        url = self.text("url")
        if url is not None and not _URL.fullmatch(url):
            raise self.fail(
                "url", f"{url!r} is not a web address", "write the full address: url: https://..."
            )
        return url

    def tags(self) -> list[str]:
        value = self.get("tags")
        if value is None:
            return []
        if isinstance(value, str):
            items: list[Any] = [item for item in _SEPARATORS.split(value) if item]
        elif isinstance(value, list):
            items = value
        else:
            raise self.fail("tags", f"expected a list or a string of hashtags, got {_kind(value)}", TAGS_HINT)
        for item in items:
            if not isinstance(item, str) or not is_hashtag(item):
                raise self.fail(
                    "tags",
                    f"{item!r} is not a hashtag",
                    "a hashtag is one word with a letter in it (no spaces, not only digits); " + TAGS_HINT,
                )
        return [strip_hash(item) for item in items]

    def channels(self) -> tuple[str, ...] | None:
        value = self.get("channels")
        if value is None:
            return None
        items = [item for item in _SEPARATORS.split(value) if item] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            raise self.fail(
                "channels",
                f"expected a list of channel names, got {_kind(value)}",
                "write channels: [bsky, masto] using names from config/tagcast.toml",
            )
        return tuple(item.strip() for item in items)

    def publish_at(self) -> datetime | None:
        value = self.get("publish_at")
        if value is None:
            return None
        if _means_now(value):
            return datetime.now(UTC)
        moment = self._datetime("publish_at", value, PUBLISH_AT_HINT)
        if moment is None:
            raise self.fail("publish_at", f"{value!s} is a date without a time", PUBLISH_AT_HINT)
        if moment.utcoffset() is None:
            raise self.fail("publish_at", f"{value!s} has no time zone offset", PUBLISH_AT_HINT)
        return moment

    def published(self) -> datetime | None:
        value = self.get("published")
        if value is None:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        moment = self._datetime("published", value, PUBLISHED_HINT)
        if moment is None:
            raise self.fail("published", f"{value!s} is a date without a time", PUBLISHED_HINT)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def _datetime(self, key: str, value: Any, hint: str) -> datetime | None:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return None
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise self.fail(key, f"{value!r} is not an ISO 8601 date and time", hint) from None
        raise self.fail(key, f"expected an ISO 8601 date and time, got {_kind(value)}", hint)
