"""Feeds as articles: RSS 2.0, RSS 1.0/RDF, Atom 1.0 and JSON Feed 1.1, recognised by content.

Parsing is fastfeedparser's (all four formats, 10-50 times faster than feedparser, which reads no JSON Feed:
``bench/feed_parsers.py``); an XML feed must first be well-formed (checked with lxml, entities not
resolved, nothing fetched), so a truncated download is an error, never half an entry. Each entry becomes an
article through :func:`~scheduler.articles.fields.build_article`, like a Markdown or JSON article:

- ``title`` and ``link`` -> ``url``; the summary (else the content), HTML turned into plain text
  (:func:`~scheduler.articles.htmltext.html_to_text`) -> body; what the feed says is plain text is kept as
  written (``a < b``, a literal ``&lt;br&gt;``): an Atom text construct of ``type="text"`` (the default;
  :mod:`~scheduler.articles.atomtext`), JSON Feed's ``title``, ``summary`` and ``content_text``. RSS titles
  and descriptions are HTML, as feeds write them;
- categories -> hashtags, one CamelCase tag each (``Khalkhin Gol`` -> ``KhalkhinGol``), then the
  ``[hashtags]`` aliases and blocklist;
- an https image enclosure, ``media:content`` or JSON Feed ``image`` -> the article's image (and the extra
  keys ``image`` and ``image_alt``), its alt text from the feed (``media:description``, ``media:title``: plain
  text unless ``type="html"``, :mod:`~scheduler.articles.mediatext`; an Atom enclosure's ``title``
  attribute, plain text) or as ``image_alt`` says (:data:`IMAGE_ALTS`); an image still without alt text is
  optional: sent only where a channel does not require alt text (``require_alt = false``), else left out;
- the entry's guid/id (else its link) -> the key ``id`` and the source ``FILE#ID``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html import unescape
from typing import Any

from scheduler.articles.atomtext import AtomEntryTexts, AtomTexts, one_line, plain_text
from scheduler.articles.fields import ArticleOptions, ArticleProblems, RawArticle, build_article
from scheduler.articles.htmltext import html_to_text
from scheduler.articles.mediatext import MediaText, MediaTexts
from scheduler.errors import ArticleError
from scheduler.hashtags import is_hashtag
from scheduler.media.model import ImageRef
from scheduler.models import Article

__all__ = [
    "FEED_SOURCES",
    "Feed",
    "FeedEntry",
    "category_tag",
    "feed_articles",
    "load_feed",
    "looks_like_feed",
    "parse_feed",
]

FEED_SOURCES = "sources/"
"""How the sources of polled feeds' articles start: ``sources/NAME#ENTRY-ID``."""

_XML_ROOT = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_FEED_ROOTS = {b"rss": "rss", b"RDF": "rdf", b"feed": "atom"}
_JSON_FEED = "https://jsonfeed.org/version/"
_JSON_FEED_VERSION = re.compile(rb'"version"\s*:\s*"https://jsonfeed\.org/version/')
MAX_FEED_BYTES = 16 * 1024 * 1024
"""The largest feed file read as articles (a polled feed has its own ``max_bytes``)."""
_WORD_BREAKS = re.compile(r"[\s\-‐‑–—_/]+")
_NOT_TAG_CHAR = re.compile(r"[^\w]+")
_LONGEST_ID = 200
_IMAGE_SUFFIX = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:[?#]|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry as read from a feed, before it is checked as an article: ``title`` is text; ``html`` is the
    body's HTML, or its plain text when ``plain``."""

    identity: str
    title: str
    link: str | None
    html: str
    plain: bool = False
    categories: tuple[str, ...] = ()
    image: str | None = None
    image_alt: str | None = None
    published: str | None = None
    updated: str | None = None


@dataclass(frozen=True, slots=True)
class Feed:
    """``kind`` is ``rss``, ``rdf``, ``atom`` or ``json``; entries in the feed's own order."""

    kind: str
    title: str
    entries: list[FeedEntry] = field(default_factory=list)


def looks_like_feed(data: bytes, *, partial: bool = False) -> str | None:
    """The kind of feed ``data`` is (``rss``, ``rdf``, ``atom``, ``json``), judged by its start; else None.
    ``partial``: ``data`` is only the start of a file (a JSON Feed is then told by its ``version`` there)."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        if partial:
            return "json" if _JSON_FEED_VERSION.search(head) else None
        try:
            document = json.loads(data.decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError):
            return None
        version = document.get("version") if isinstance(document, dict) else None
        return "json" if isinstance(version, str) and version.startswith(_JSON_FEED) else None
    if head.startswith(b"<"):
        match = _XML_ROOT.search(head)
        return _FEED_ROOTS.get(match.group(1)) if match else None
    return None


def parse_feed(data: bytes, *, source: str) -> Feed:
    """Read a feed; :class:`ArticleError` naming ``source`` (and the line) when it is not a readable feed."""
    kind = looks_like_feed(data)
    if kind is None:
        raise ArticleError(
            source,
            "not a feed: expected RSS 2.0, RSS 1.0/RDF, Atom 1.0 or JSON Feed 1.1",
            hint="check that the address serves the feed itself, not a web page",
        )
    if kind != "json":
        _check_well_formed(data, source)
    parsed = _parsed(data, source)
    atom_texts = AtomTexts(data) if kind == "atom" else None
    entries = list(_entries(parsed.get("entries", []), kind, atom_texts, MediaTexts(data, kind)))
    if kind == "rdf":
        entries = list(_with_rdf_content(entries, data))
    title = _title(parsed.get("feed", {}).get("title"), kind)
    if atom_texts is not None and atom_texts.feed_title is not None:
        title = atom_texts.feed_title.title
    return Feed(kind, title, entries)


def _parsed(data: bytes, source: str) -> Any:
    import fastfeedparser  # type: ignore[import-untyped]  # noqa: PLC0415  (lxml loads only for a feed)

    try:
        return fastfeedparser.parse(data)
    except ValueError as exc:
        raise ArticleError(source, f"cannot read the feed: {exc}", hint="check the feed's syntax") from None


def iter_feed_entries(data: bytes, *, source: str, chunk: int = 200) -> Iterator[FeedEntry]:
    """The entries of :func:`parse_feed`, the same ones in the same order, read ``chunk`` items at a time:
    a long RSS or Atom feed is cut into small feeds (its start, some of its items, its end), each parsed
    alone, so the parser's entries of the whole feed are never all held at once. A feed whose items cannot
    be told apart safely (:func:`_item_spans`) is parsed whole."""
    kind = looks_like_feed(data)
    if kind is None or kind == "json":
        yield from parse_feed(data, source=source).entries
        return
    _check_well_formed(data, source)
    items = _items_in_parts(data, kind, source=source, chunk=chunk)
    entries = _entries(items, kind, AtomTexts(data) if kind == "atom" else None, MediaTexts(data, kind))
    yield from _with_rdf_content(entries, data) if kind == "rdf" else entries


def _entries(
    items: Iterable[Mapping[str, Any]],
    kind: str,
    atom_texts: Iterable[AtomEntryTexts] | None,
    media_texts: MediaTexts | None = None,
) -> Iterator[FeedEntry]:
    """The parser's ``items`` as entries; an Atom 1.0 feed's each with its text constructs read by their
    ``type`` (:mod:`~scheduler.articles.atomtext`), matched by order and checked by id: an entry whose id
    differs (a feed nesting entries, which Atom does not allow) keeps the parser's reading. Likewise an
    entry whose ``media:content`` has a title or description gets them read by their ``type``
    (:mod:`~scheduler.articles.mediatext`), matched by order and checked by the contents' URLs."""
    texts = iter(atom_texts) if atom_texts is not None else None
    for index, item in enumerate(items):
        own = next(texts, None) if texts is not None else None
        expected = own.identity if own is not None and own.identity is not None else item.get("link") or ""
        if own is not None and expected != (item.get("id") or ""):
            own = None
        contents = item.get("media_content") or ()
        media = None
        if media_texts is not None and any("title" in one or "description" in one for one in contents):
            media = media_texts.item(index, contents)
        yield _entry(item, kind, own, media)
    for _ in texts or ():  # read to the end: the feed's title may follow its entries
        pass


def _items_in_parts(data: bytes, kind: str, *, source: str, chunk: int) -> Iterator[Mapping[str, Any]]:
    spans = _item_spans(data, b"entry" if kind == "atom" else b"item")
    if spans is None or len(spans) <= chunk:
        yield from _parsed(data, source).get("entries", [])
        return
    head, tail = data[: spans[0][0]], data[spans[-1][1] :]
    size = -(-len(spans) // -(-len(spans) // chunk))  # even parts, none of them small
    for first in range(0, len(spans), size):
        part = spans[first : first + size]
        entries = _parsed(head + data[part[0][0] : part[-1][1]] + tail, source).get("entries", [])
        entries.reverse()
        while entries:
            yield entries.pop()


_CONTENT_MODULE = "http://purl.org/rss/1.0/modules/content/"
_RSS1_ITEM = "{http://purl.org/rss/1.0/}item"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


def _with_rdf_content(entries: Iterable[FeedEntry], data: bytes) -> Iterator[FeedEntry]:
    """RSS 1.0 ``entries``, each without a description given its ``content:encoded`` (which fastfeedparser
    reads in RSS 2.0 items only), found by the item's ``rdf:about``, the entry's id."""
    contents = _rdf_contents(data) if _CONTENT_MODULE.encode() in data else {}
    for entry in entries:
        content = contents.get(entry.identity) if not entry.html.strip() else None
        yield dataclasses.replace(entry, html=content, plain=False) if content else entry


def _rdf_contents(data: bytes) -> dict[str, str]:
    """The ``content:encoded`` of each item of a well-formed RSS 1.0 feed, by ``rdf:about``; each item is let
    go once read."""
    from lxml import etree  # type: ignore[import-untyped]  # noqa: PLC0415

    contents: dict[str, str] = {}
    items = etree.iterparse(
        io.BytesIO(data), tag=_RSS1_ITEM, resolve_entities=False, no_network=True, load_dtd=False
    )
    for _, item in items:
        about, content = item.get(_RDF_ABOUT), item.findtext(f"{{{_CONTENT_MODULE}}}encoded")
        if about and content and content.strip():
            contents[about] = content
        item.clear()
        while item.getprevious() is not None:
            del item.getparent()[0]
    return contents


_MARKUP = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?.*?\?>|<(/?)(item|entry)(?=[\s/>])", re.DOTALL)


def _item_spans(data: bytes, tag: bytes) -> list[tuple[int, int]] | None:
    """Where each ``tag`` element (an unprefixed ``item`` or ``entry``) starts and ends in a well-formed feed,
    read past CDATA sections, comments, processing instructions; None when they are not all siblings one after
    another (nested, or with other elements or text between them), or there are none."""
    if b"<!DOCTYPE" in data:  # an internal subset may declare entities holding items: read the feed whole
        return None
    spans: list[tuple[int, int]] = []
    start = -1
    for match in _MARKUP.finditer(data):
        if match.group(2) != tag:
            continue
        if match.group(1):
            if start < 0:
                return None
            end = data.find(b">", match.end())
            spans.append((start, end + 1))
            start = -1
            continue
        if start >= 0:
            return None
        if spans and data[spans[-1][1] : match.start()].strip():
            return None
        close = data.find(b">", match.end())
        if data[close - 1 : close] == b"/":
            spans.append((match.start(), close + 1))
        else:
            start = match.start()
    return spans if spans and start < 0 else None


class _NoTree:
    """A parser target that keeps nothing: the check reads the whole feed without building its tree (the
    parser builds one afterwards), so the feed is never held twice."""

    def close(self) -> None:
        return None


def _check_well_formed(data: bytes, source: str) -> None:
    from lxml import etree  # noqa: PLC0415

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, target=_NoTree()
    )
    try:
        etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise ArticleError(
            source,
            f"invalid XML: {exc.msg}",
            line=line,
            hint="the feed is cut short or broken; it is read again at the next poll",
        ) from None


def _title(value: Any, kind: str) -> str:
    """A feed's or an RSS/JSON entry's title as text: HTML in RSS (by custom), plain text in JSON Feed."""
    if not isinstance(value, str):
        return ""
    return one_line(value) if kind == "json" else html_to_text(value)


def _entry(
    item: Mapping[str, Any],
    kind: str,
    texts: AtomEntryTexts | None = None,
    media: tuple[MediaText, ...] | None = None,
) -> FeedEntry:
    """One parsed item as an entry; ``texts``: an Atom entry's own text constructs, ``media``: its
    ``media:content`` texts, each read by their type."""
    link = item.get("link") or None
    if texts is None:
        title = _title(item.get("title"), kind)
        html, plain = _body(item, kind)
    else:
        title = texts.title.title if texts.title is not None else ""
        html, plain = _atom_body(texts)
    identity = str(item.get("id") or "") or (link or "")
    if not identity:  # the hash of what the parser reads, as it always was
        identity = hashlib.sha256(_body(item, kind)[0].encode()).hexdigest()[:16]
    tags = tuple(
        term
        for tag in item.get("tags") or []
        if isinstance(term := tag.get("term") if isinstance(tag, Mapping) else tag, str) and term.strip()
    )
    image, image_alt = _image(item, media)
    return FeedEntry(
        identity=identity,
        title=title,
        link=link if isinstance(link, str) else None,
        html=html,
        plain=plain,
        categories=tags,
        image=image,
        image_alt=image_alt,
        published=item.get("published") or None,
        updated=item.get("updated") or None,
    )


def _atom_body(texts: AtomEntryTexts) -> tuple[str, bool]:
    """An Atom entry's body: its summary when it has text, else its content; plain text or HTML."""
    for construct in (texts.summary, texts.content):
        if construct is not None and not construct.blank:
            return construct.body()
    return "", False


def _body(item: Mapping[str, Any], kind: str) -> tuple[str, bool]:
    """The entry's HTML (or plain text: True) for its body, as the parser reads it: its summary, else its
    content. A summary that the parser made up from the content (:func:`_made_from`) is not one: the content
    is the body. A JSON Feed ``summary``, ``content_text`` and an Atom ``content type="text"`` are plain
    text."""
    description = item.get("description")
    contents = [content for content in item.get("content") or [] if isinstance(content, Mapping)]
    made_up = isinstance(description, str) and bool(contents) and _made_from(description, contents[0])
    if isinstance(description, str) and description.strip() and not made_up:
        return description, kind == "json"
    for content in contents:
        value = content.get("value")
        if isinstance(value, str) and value.strip():
            return value, content.get("type") in ("text/plain", "text")
    return "", False


_MADE_UP_LENGTH = 512
"""fastfeedparser gives an entry without a summary one: the first 512 characters of its content's text."""


def _made_from(description: str, content: Mapping[str, Any]) -> bool:
    """Whether ``description`` is what fastfeedparser makes of ``content`` for an entry that has no summary of
    its own (its text cut at 512 characters: a JSON Feed's ``content_text`` as it is, HTML without its tags
    and with spaces collapsed), rather than a summary the feed gives."""
    value = content.get("value")
    if not isinstance(value, str) or description == value or len(description.strip()) > _MADE_UP_LENGTH:
        return False
    return description == value[:_MADE_UP_LENGTH] or description.strip() == _made_up(content, value)


def _made_up(content: Mapping[str, Any], value: str) -> str:
    try:  # the parser's own function, private to it
        from fastfeedparser.main import _synthesize_entry_description  # type: ignore[import-untyped]  # noqa: PLC0415
    except ImportError:  # a release without it: the rule it follows today
        return text_start(value)
    made: dict[str, Any] = {"content": [content]}
    _synthesize_entry_description(made)
    return str(made.get("description", "")).strip()


_ANY_TAG = re.compile(r"<[^>]+>")


def text_start(html: str) -> str:
    """The summary fastfeedparser 0.6 makes up for an entry with only content: the first 512 characters of
    its text, tags replaced by spaces, references decoded, spaces collapsed (tags are stripped from the
    first 2,048 characters only).

    >>> text_start("<p>Zhukov &amp; the <b>6th</b>   Army</p>")
    'Zhukov & the 6th Army'
    """
    text = unescape(_ANY_TAG.sub(" ", html[:2048])) if "<" in html and ">" in html else html
    spaced = any(space in text for space in ("  ", "\n", "\t", "\r"))
    return (" ".join(text.split()) if spaced else text.strip())[:_MADE_UP_LENGTH]


def _is_image(kind: Any, url: str) -> bool:
    if isinstance(kind, str) and kind:
        return kind.startswith("image") or kind == "image"
    return bool(_IMAGE_SUFFIX.search(url))


def _image(
    item: Mapping[str, Any], media: tuple[MediaText, ...] | None = None
) -> tuple[str | None, str | None]:
    """The entry's image and the alt text the feed gives it: JSON Feed ``image``; else an image enclosure
    (its ``title``, on an Atom ``link rel="enclosure"``: an XML attribute, plain text as the XML parser
    hands it over, ``&lt;br&gt;`` the text ``<br>``, nothing decoded again); else an image ``media:content``
    (its ``media:description``, else its ``media:title``, read by their type from ``media``, else as HTML)."""
    image = item.get("image")
    if isinstance(image, str) and image:
        return image, None
    enclosures = [*(item.get("enclosures") or [])]
    enclosures += [link for link in item.get("links") or [] if link.get("rel") == "enclosure"]
    for enclosure in enclosures:
        url = enclosure.get("url") or enclosure.get("href") or ""
        if url and _is_image(enclosure.get("type"), url):
            return str(url), _attribute_alt(enclosure.get("title"))
    contents = item.get("media_content") or item.get("media") or []
    for number, content in enumerate(contents):
        url = content.get("url") or ""
        if url and _is_image(content.get("medium") or content.get("type"), url):
            if media is not None:
                return str(url), media[number].alt
            return str(url), _alt(content.get("description")) or _alt(content.get("title"))
    return None, None


def _attribute_alt(value: Any) -> str | None:
    """An alt text given in an attribute, as one line of text; None when there is none."""
    return (one_line(value) or None) if isinstance(value, str) else None


def _alt(value: Any) -> str | None:
    """An alt text as one line of plain text (a feed may give HTML); None when there is none."""
    if not isinstance(value, str):
        return None
    return " ".join(html_to_text(value).split()) or None


@lru_cache(maxsize=4096)
def category_tag(category: str) -> str | None:
    """A category as one hashtag (without ``#``): words joined in CamelCase; None when no hashtag is left.

    >>> [category_tag(name) for name in ("Khalkhin Gol", "military-history", "WWII", "1939")]
    ['KhalkhinGol', 'MilitaryHistory', 'WWII', None]

    Remembered: a feed names the same few categories again and again.
    """
    words = [_NOT_TAG_CHAR.sub("", word) for word in _WORD_BREAKS.split(category.strip().lstrip("#＃"))]
    words = [word for word in words if word]
    if not words:
        return None
    tag = words[0] if len(words) == 1 else "".join(word[:1].upper() + word[1:] for word in words)
    return tag if is_hashtag(tag) else None


def entry_source(file: str, identity: str) -> str:
    """``FILE#ID``, with a long or spaced id replaced by a short hash of it."""
    if len(identity) > _LONGEST_ID or any(char.isspace() for char in identity):
        identity = "sha256:" + hashlib.sha256(identity.encode()).hexdigest()[:24]
    return f"{file}#{identity}"


IMAGE_ALTS = ("feed", "title", "drop")
"""What an entry's image gets for alt text (``[sources.NAME] image_alt``): always the feed's own where it
gives one; else nothing (``feed``: the missing alt text is a problem of the post), the entry's title
(``title``), or the image is left out (``drop``)."""


def entry_article(
    entry: FeedEntry, *, file: str, options: ArticleOptions | None = None, image_alt: str = "feed"
) -> Article:
    """The article of one feed entry, checked as any other article is (``image_alt``: :data:`IMAGE_ALTS`)."""
    values: dict[str, Any] = {"id": entry.identity}
    if entry.title:
        values["title"] = entry.title
    if entry.link:
        values["url"] = entry.link
    moment = entry_moment(entry)
    if moment is not None:
        values["published"] = moment
    alt = entry.image_alt or (entry.title or None if image_alt == "title" else None)
    images: tuple[ImageRef, ...] = ()
    # an http:// or relative image is left out: images are fetched over https
    if entry.image and entry.image.casefold().startswith("https://") and (alt or image_alt != "drop"):
        values["image"] = entry.image
        if alt:
            values["image_alt"] = alt
        images = (ImageRef(src=entry.image, alt=alt, optional=not alt),)
    tags = [tag for tag in (category_tag(name) for name in entry.categories) if tag]
    body = plain_text(entry.html) if entry.plain else html_to_text(entry.html)
    raw = RawArticle(
        source=entry_source(file, entry.identity),
        file=file,
        values=values,
        key_lines={},
        body=body,
        fallback_title=_first_words(body),
        extra_tags=tuple(tags),
    )
    article = build_article(raw, options or ArticleOptions())
    return dataclasses.replace(article, images=images) if article.images != images else article


def _first_words(body: str, most: int = 80) -> str | None:
    """A title for an entry without one (RSS 2.0 allows it): the start of its first line, cut at a word."""
    line = body.strip().split("\n", 1)[0].strip()
    if len(line) <= most:
        return line or None
    cut = line[:most].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def feed_articles(
    feed: Feed, *, file: str, options: ArticleOptions | None = None, image_alt: str = "feed"
) -> tuple[list[Article], list[ArticleError]]:
    """Every entry's article; an entry that is not a valid article is one error naming it, not a stop."""
    return _entry_articles(feed.entries, file=file, options=options, image_alt=image_alt)


def _entry_articles(
    entries: Iterable[FeedEntry], *, file: str, options: ArticleOptions | None, image_alt: str = "feed"
) -> tuple[list[Article], list[ArticleError]]:
    articles: list[Article] = []
    errors: list[ArticleError] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.identity in seen:
            continue
        seen.add(entry.identity)
        try:
            articles.append(entry_article(entry, file=file, options=options, image_alt=image_alt))
        except ArticleProblems as problems:
            errors.extend(_entry_error(file, entry, error) for error in problems.problems)
        except ArticleError as error:
            errors.append(_entry_error(file, entry, error))
    return articles, errors


def _entry_error(file: str, entry: FeedEntry, error: ArticleError) -> ArticleError:
    """``error`` of an entry's article, said of the entry (a feed entry has no line of its own)."""
    where = f"{error.source}:{error.line}: " if error.line else f"{error.source}: "
    message = error.message.removeprefix(where)
    source = entry_source(file, entry.identity)
    return ArticleError(source, f"entry {entry.identity!r}: {message}", hint=error.hint)


def load_feed(
    data: bytes, *, source: str, options: ArticleOptions | None = None
) -> tuple[list[Article], list[ArticleError]]:
    """The articles of a feed file (:func:`parse_feed`, then :func:`feed_articles`).

    Each entry is let go once its article is built, so a long feed's HTML and its articles' text are not
    all held at once."""
    return _entry_articles(iter_feed_entries(data, source=source), file=source, options=options)


def entry_moment(entry: FeedEntry) -> datetime | None:
    """The entry's date (published, else updated) when the parser could read it; a date it could not read is
    left out rather than making the entry an error."""
    for value in (entry.published, entry.updated):
        if value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return None


def newest_first(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """Entries by date, newest first; undated ones keep the feed's order after the dated ones."""
    dated = [(moment, entry) for entry in entries if (moment := entry_moment(entry)) is not None]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return [entry for _, entry in dated] + [entry for entry in entries if entry_moment(entry) is None]
