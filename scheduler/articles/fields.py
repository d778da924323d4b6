"""Turn the raw keys of one article (front matter or a JSON object) into an :class:`Article`.

Every format module gathers a :class:`RawArticle` (the values and the line of each key) and calls
:func:`build_article`, so the checks, messages and hints are the same whatever the file format. Every problem
of an article is found at once: :class:`ArticleProblems` is the first one and carries the others.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

from scheduler.articles.bodytext import split_closing_tags
from scheduler.articles.images import read_images
from scheduler.articles.values import BadValue, check_moment, check_text, plain_value, shown
from scheduler.errors import ArticleError, UserError
from scheduler.hashtags import find_hashtags, is_hashtag, normalize_hashtags, strip_hash
from scheduler.models import Article

KNOWN_KEYS = frozenset(
    {"title", "url", "tags", "publish_at", "published", "channels", "template", "reference", "explore", "id"}
)
LATER_KEYS = frozenset({"summary", "image", "image_alt", "images"})
"""Keys other parts of tagcast read from ``extra``: a near miss of one of them is reported too."""

_SEPARATORS = re.compile(r"[\s,]+")
_URL = re.compile(r"https?://[^\s/?#]\S*", re.IGNORECASE)
_NOW = "now"
PUBLISH_AT_YEARS = (1970, 2999)
_DATE_KEYS = frozenset({"publish_at", "published"})

Syntax = Literal["yaml", "json"]

TAGS_HINT = 'write a list, tags: [KhalkhinGol, MilitaryHistory], or a string, tags: "#KhalkhinGol #History"'
_HINTS: dict[str, tuple[str, str]] = {
    "tags": (
        TAGS_HINT,
        'write a list, "tags": ["KhalkhinGol", "MilitaryHistory"], '
        'or a string, "tags": "#KhalkhinGol #History"',
    ),
    "url": ("write the full address: url: https://...", 'write the full address: "url": "https://..."'),
    "channels": (
        "write channels: [bsky, masto] using names from config/tagcast.toml",
        'write "channels": ["bsky", "masto"] using names from config/tagcast.toml',
    ),
    "publish_at": (
        "write ISO 8601, e.g. 2027-03-01T09:00:00+01:00 or 2027-03-01T08:00:00Z (a time without an offset is "
        "in defaults.timezone), or now",
        'write ISO 8601 in quotes, e.g. "publish_at": "2027-03-01T09:00:00+01:00" (a time without an offset '
        'is in defaults.timezone), or "publish_at": "now"',
    ),
    "published": (
        "write an ISO 8601 date such as 2024-05-17 (or a date and time such as 2024-05-17T10:00:00Z)",
        'write an ISO 8601 date in quotes, e.g. "published": "2024-05-17"',
    ),
}


@dataclass(frozen=True, slots=True)
class ArticleOptions:
    """What loading needs from the config: hashtag aliases and blocklist, the zone of a date or time written
    without an offset, the moment ``publish_at: now`` stands for, the channel names (None: not checked)."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    blocklist: Iterable[str] = ()
    timezone: tzinfo = UTC
    now: datetime | None = None
    channels: Collection[str] | None = None
    root: Path | None = None
    """The workspace: an image path is looked up relative to the article file inside it (None: not
    looked up until the image is prepared for a post)."""


class ArticleProblems(ArticleError):
    """Every problem of one article: the error itself is the first, ``problems`` holds all of them."""

    def __init__(self, problems: Sequence[ArticleError]) -> None:
        first = problems[0]
        UserError.__init__(self, first.message, hint=first.hint)
        self.source, self.line = first.source, first.line
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class RawArticle:
    """The keys of one article as read from its file, before any checking.

    ``key_lines`` gives the 1-based line of each key; ``start_line`` is where a missing key would go.
    ``closing_tags`` are the tags of the body's closing hashtag lines when the format module took them out
    itself (Markdown, before rendering); None: :func:`build_article` takes them out of ``body``.
    """

    source: str
    file: str
    values: Mapping[str, Any]
    key_lines: Mapping[str, int]
    start_line: int = 1
    body: str = ""
    fallback_title: str | None = None
    extra_tags: Sequence[str] = field(default_factory=tuple)
    syntax: Syntax = "yaml"
    label: str = ""
    """Put before each message (``items.json#2: ``) when one file holds several articles."""
    also_known: frozenset[str] = frozenset()
    closing_tags: Sequence[str] | None = None


def build_article(raw: RawArticle, options: ArticleOptions) -> Article:
    """Check and convert ``raw``; raise :class:`ArticleProblems` naming each key's line and how to fix it."""
    reader = _Reader(raw, options)
    title = reader.read(reader.text, "title") or raw.fallback_title
    if not title and "title" not in reader.failed:
        reader.problems.append(
            reader.error(
                "title",
                "the article has no title",
                'add "title": "..."'
                if raw.syntax == "json"
                else 'add "title: ..." to the front matter (or a "# Title" line in Markdown)',
            )
        )
    try:
        check_text(raw.body)
    except BadValue as exc:
        label = f"{raw.label}: " if raw.label else ""
        reader.problems.append(ArticleError(raw.file, f"{label}the text {exc.message}", hint=exc.hint))
    if raw.closing_tags is None:
        body, closing = split_closing_tags(raw.body)
    else:
        body, closing = raw.body, list(raw.closing_tags)
    written_tags = [*(reader.read(reader.tags, "tags") or ()), *raw.extra_tags]
    written_tags += [match.tag for match in find_hashtags(body)] + closing
    fields = {
        "url": reader.read(reader.url, "url"),
        "reference": reader.read(reader.text, "reference"),
        "explore": reader.read(reader.text, "explore"),
        "published": reader.read(reader.published, "published"),
        "publish_at": reader.read(reader.publish_at, "publish_at"),
        "channels": reader.read(reader.channels, "channels"),
        "template": reader.read(reader.text, "template"),
        "id": reader.read(reader.text, "id"),
    }
    images, image_problems = read_images(
        reader.values,
        reader.error,
        folder=_folder(raw.file, options.root),
        root=options.root,
        syntax=raw.syntax,
        item_lines=raw.key_lines,
    )
    reader.problems.extend(image_problems)
    extra = {key: value for key, value in reader.values.items() if key not in KNOWN_KEYS}
    for key in extra:
        reader.check_name(key)
    if reader.problems:
        raise ArticleProblems(sorted(reader.problems, key=lambda error: error.line or 0))
    return Article(
        source=raw.source,
        title=str(title),
        body=body,
        hashtags=normalize_hashtags(written_tags, aliases=options.aliases, blocklist=options.blocklist),
        extra=extra,
        images=images,
        **fields,
    )


def _folder(file: str, root: Path | None) -> Path | None:
    """The folder of the article file ``file`` (relative to ``root``, or absolute)."""
    if root is None:
        return None
    return Path(os.path.dirname(os.path.join(root, file)))


def _means_now(value: Any) -> bool:
    """``publish_at: now``: send as soon as possible (the time the article is read)."""
    return isinstance(value, str) and value.strip().casefold() == "now"


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def near_miss(key: str, known: Iterable[str]) -> str | None:
    """The known key that ``key`` is most likely a typo of: the same but for case, ``-`` or a space; one
    letter added, missing, changed or two swapped; or a close spelling (``publish_date``)."""
    if len(key) > 40:
        return None
    folded = key.casefold().replace("-", "_").replace(" ", "_")
    names = sorted(known)
    for name in names:
        if folded == name or (len(folded) >= 3 and _one_edit(folded, name)):
            return name
    close = difflib.get_close_matches(folded, names, n=1, cutoff=0.85)
    return close[0] if close else None


def _one_edit(a: str, b: str) -> bool:
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [index for index, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        swapped = (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
        return len(diff) == 1 or swapped
    short, long = sorted((a, b), key=len)
    return any(long[:index] + long[index + 1 :] == short for index in range(len(long)))


class _Reader:
    def __init__(self, raw: RawArticle, options: ArticleOptions) -> None:
        self.raw = raw
        self.options = options
        self.problems: list[ArticleError] = []
        self.failed: set[str] = set()
        self.values: dict[str, Any] = {}
        for key, value in raw.values.items():
            try:
                check_text(key)
            except BadValue as exc:
                self.problems.append(self.error(shown(key), exc.message, exc.hint))
                continue
            if key in _DATE_KEYS and isinstance(value, date):
                self.values[key] = value  # checked by its reader, with words for that key
                continue
            try:
                self.values[key] = plain_value(value)
            except BadValue as exc:
                self.problems.append(self.error(key, exc.message, exc.hint))
                self.failed.add(key)

    def read(self, method: Any, key: str) -> Any:
        if key in self.failed:
            return None
        try:
            return method(key)
        except ArticleError as error:
            self.problems.append(error)
            self.failed.add(key)
            return None

    def line(self, key: str) -> int:
        return self.raw.key_lines.get(key, self.raw.start_line)

    def hint(self, key: str) -> str:
        pair = _HINTS.get(key)
        if pair is not None:
            return pair[self.raw.syntax == "json"]
        if self.raw.syntax == "json":
            return f'write text in double quotes: "{key}": "..."'
        return f'put the value in quotes: {key}: "..."'

    def error(self, key: str, message: str, hint: str | None = None) -> ArticleError:
        label = f"{self.raw.label}: " if self.raw.label else ""
        return ArticleError(
            self.raw.file, f"{label}{key}: {message}", line=self.line(key), hint=hint or self.hint(key)
        )

    def get(self, key: str) -> Any:
        value = self.values.get(key)
        return (value.strip() or None) if isinstance(value, str) else value

    def check_name(self, key: str) -> None:
        known = KNOWN_KEYS | LATER_KEYS | self.raw.also_known
        if key in known:
            return
        close = near_miss(key, known)
        if close is not None:
            written = f'"{close}"' if self.raw.syntax == "json" else close
            self.problems.append(
                self.error(
                    key,
                    f"unknown key; did you mean '{close}'?",
                    f"rename it to {written}; other keys you add are passed to templates as they are",
                )
            )

    def text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value.isoformat()  # title: 2024-05-17 is read by YAML as a date
        raise self.error(key, f"expected text, got {_kind(value)}")

    def url(self, key: str) -> str | None:
        url = self.text(key)
        if url is not None and not _URL.fullmatch(url):
            raise self.error(key, f"{shown(url)} is not a web address")
        return url

    def tags(self, key: str) -> list[str]:
        value = self.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            items: list[Any] = [item for item in _SEPARATORS.split(value) if item]
        elif isinstance(value, list):
            items = value
        else:
            raise self.error(key, f"expected a list or a string of hashtags, got {_kind(value)}")
        for item in items:
            if not isinstance(item, str) or not is_hashtag(item):
                raise self.error(
                    key,
                    f"{shown(item)} is not a hashtag",
                    "a hashtag is one word with a letter in it (no spaces, not only digits); "
                    + self.hint(key),
                )
        return [strip_hash(item) for item in items]

    def channels(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key)
        if value is None:
            return None
        items = [item for item in _SEPARATORS.split(value) if item] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) and item.strip() for item in items):
            raise self.error(key, f"expected a list of channel names, got {_kind(value)}")
        names = tuple(item.strip() for item in items)
        known = self.options.channels
        if known is not None:
            for name in names:
                if name not in known:
                    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
                    raise self.error(
                        key,
                        f"no channel named {shown(name)}"
                        + (f"; did you mean '{close[0]}'?" if close else ""),
                        "configured channels: " + (", ".join(sorted(known)) or "none"),
                    )
        return names

    def publish_at(self, key: str) -> datetime | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str) and value.casefold() == _NOW:
            return self.options.now or datetime.now(UTC)
        moment = self._datetime(key, value, years=PUBLISH_AT_YEARS)
        if moment is None:
            raise self.error(key, f"{shown(value)} is a date without a time")
        return moment

    def published(self, key: str) -> datetime | None:
        value = self.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            self._check(key, value)
            return datetime(value.year, value.month, value.day, tzinfo=self.options.timezone)
        moment = self._datetime(key, value)
        if moment is None:
            raise self.error(key, f"{shown(value)} is a date without a time")
        return moment

    def _datetime(self, key: str, value: Any, years: tuple[int, int] | None = None) -> datetime | None:
        if isinstance(value, str):
            try:
                if len(value) <= 10:
                    date.fromisoformat(value)
                    return None
            except ValueError:
                pass
            try:
                value = datetime.fromisoformat(value)
            except ValueError as exc:
                raise self.error(key, f"{shown(value)} is not an ISO 8601 date and time ({exc})") from None
        if isinstance(value, datetime):
            moment: datetime = value
            if years is not None and not years[0] <= moment.year <= years[1]:
                raise self.error(
                    key,
                    f"the year {moment.year} is out of range",
                    f"write a year between {years[0]} and {years[1]}, e.g. 2027-03-01T09:00:00+01:00 "
                    "(a past time means: as soon as possible)",
                )
            if moment.utcoffset() is None:
                moment = moment.replace(tzinfo=self.options.timezone)
            self._check(key, moment)
            return moment
        if isinstance(value, date):
            return None
        raise self.error(key, f"expected an ISO 8601 date and time, got {_kind(value)}")

    def _check(self, key: str, value: date) -> None:
        try:
            check_moment(value)
        except BadValue as exc:
            raise self.error(key, exc.message, exc.hint) from None
