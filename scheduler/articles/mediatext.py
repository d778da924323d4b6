"""Media RSS ``media:title`` and ``media:description`` read as their ``type`` says (Media RSS 1.5.1:
``plain``, the default, or ``html``), which fastfeedparser does not report:

- ``plain`` (also no ``type``, or one Media RSS does not name): plain text, the XML parser's text
  (``&lt;b&gt;`` is the text ``<b>``), nothing decoded again: ``a < b`` and a literal ``&lt;br&gt;`` reach
  the alt text as written;
- ``html``: escaped HTML, turned into text as any feed HTML is.

Each is an :class:`~scheduler.articles.atomtext.AtomText` (kind ``text`` or ``html``), read the way an Atom
title is. :class:`MediaTexts` takes fastfeedparser's texts as plain text when no title or description in the
feed has a ``type``; else it reads them with lxml, one item at a time (each let go once read), and only for
the items asked for.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from scheduler.articles.atomtext import ATOM_NAMESPACES, AtomText

__all__ = ["MEDIA_RSS", "MediaText", "MediaTexts"]

MEDIA_RSS = "http://search.yahoo.com/mrss/"
"""The Media RSS namespace, as fastfeedparser reads it (exactly this spelling)."""
_CONTENT = f"{{{MEDIA_RSS}}}content"
_TITLE = f"{{{MEDIA_RSS}}}title"
_DESCRIPTION = f"{{{MEDIA_RSS}}}description"
_TYPED = re.compile(rb"""<[A-Za-z_][\w.-]*:(?:description|title)(?:[^>"']|"[^"]*"|'[^']*')*\stype\s*=""")
"""A prefixed title or description element with a ``type`` (in any namespace: more than need be; an Atom
feed's own unprefixed ``<title type="html">`` is not one)."""
_DEFAULT_MEDIA = re.compile(rb"""xmlns\s*=\s*["']http://search\.yahoo\.com/mrss/["']""")
"""Media RSS as the default namespace somewhere: its titles and descriptions have no prefix."""
_ITEM_TAGS = {
    "rss": ("item",),
    "rdf": ("{http://purl.org/rss/1.0/}item", "item"),
    "atom": tuple(f"{{{ns}}}entry" for ns in ATOM_NAMESPACES),
}


@dataclass(frozen=True, slots=True)
class MediaText:
    """One ``media:content``: its ``url`` (None without one), its ``media:title`` and its
    ``media:description`` (its own, else the first of its parent's, an item's or a ``media:group``'s, as
    fastfeedparser picks them), each None when it has none with text."""

    url: str | None
    title: AtomText | None
    description: AtomText | None

    @property
    def alt(self) -> str | None:
        """The image's alt text: its description, else its title, as one line of text; None if neither."""
        for construct in (self.description, self.title):
            if construct is not None and not construct.blank:
                return " ".join(construct.title.split()) or None
        return None


class MediaTexts:
    """The ``media:content`` texts of each item (``kind``: ``rss``, ``rdf``, ``atom``) of a well-formed feed,
    by the item's place in the feed, as fastfeedparser lists the items:

        texts = MediaTexts(data, "rss")
        texts.item(3, entry["media_content"])   # the fourth item's tuple[MediaText, ...]; ask in order

    A feed with a typed title or description is read by lxml from the first :meth:`item` asked for, and only
    as far as the last one."""

    def __init__(self, data: bytes, kind: str) -> None:
        self._data = data
        self._tags = _ITEM_TAGS.get(kind, ())
        self._nested = kind != "rss"
        self._items: Iterator[tuple[MediaText, ...]] | None = None
        self._next = 0
        self._typed: bool | None = None

    def item(self, index: int, contents: Sequence[Mapping[str, Any]]) -> tuple[MediaText, ...] | None:
        """The texts of the item at ``index`` (0 is the first) whose ``media_content`` fastfeedparser reads
        as ``contents``; None when they cannot be told: the item read here has other contents (a feed whose
        items the parser lists otherwise), or an item after it was asked for before."""
        if self._typed is None:
            data = self._data
            self._typed = b"<!DOCTYPE" in data or bool(_DEFAULT_MEDIA.search(data) or _TYPED.search(data))
        if not self._typed:  # every text is plain: the parser's are the ones
            return tuple(_parsed_text(content) for content in contents)
        if index < self._next:
            return None
        if self._items is None:
            self._items = self._read()
        found = next(islice(self._items, index - self._next, None), None)
        self._next = index + 1
        if found is None or [text.url for text in found] != [content.get("url") for content in contents]:
            return None
        return found

    def _read(self) -> Iterator[tuple[MediaText, ...]]:
        from lxml import etree  # type: ignore[import-untyped]  # noqa: PLC0415

        events = etree.iterparse(
            io.BytesIO(self._data), tag=self._tags, resolve_entities=False, no_network=True, load_dtd=False
        )
        for _, item in events:
            if next(item.iterancestors(*self._tags), None) is not None:
                continue  # a nested item, read with the item holding it
            # fastfeedparser lists an RSS 2.0 channel's own items, but every item or entry of RSS 1.0 and Atom
            # (a nested one after the one holding it); the contents of an item are all those inside it
            for each in item.iter(*self._tags) if self._nested else (item,):
                yield tuple(_media_text(content) for content in each.iter(_CONTENT))
            parent = item.getparent()
            if parent is not None:
                item.clear(keep_tail=True)
                while item.getprevious() is not None:
                    del parent[0]


def _parsed_text(content: Mapping[str, Any]) -> MediaText:
    title, description = content.get("title"), content.get("description")
    return MediaText(content.get("url"), _plain(title), _plain(description))


def _plain(value: Any) -> AtomText | None:
    return AtomText(value, "text", blank=not value.strip()) if isinstance(value, str) and value else None


def _media_text(content: Any) -> MediaText:
    title = content.find(_TITLE)
    description = content.find(_DESCRIPTION)
    if description is None and (parent := content.getparent()) is not None:
        description = parent.find(_DESCRIPTION)
    return MediaText(content.get("url"), _construct(title), _construct(description))


def _construct(element: Any) -> AtomText | None:
    """A title's or description's text (the text before any child element, as fastfeedparser reads it)."""
    if element is None or not element.text:
        return None
    kind = "html" if (element.get("type") or "").strip().lower() == "html" else "text"
    return AtomText(element.text, kind, blank=not element.text.strip())
