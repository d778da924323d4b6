"""Atom 1.0 text constructs (an entry's ``title``, ``summary`` and ``content``) read as their ``type`` says
(RFC 4287, sections 3.1 and 4.1.3), which fastfeedparser does not report for a title or a summary, and
reports as HTML for a ``content`` without a ``type``:

- ``text`` (also no ``type``): plain text, the XML parser's text (``&lt;b&gt;`` is the text ``<b>``), nothing
  decoded again: ``a < b`` and a literal ``&lt;br&gt;`` reach the post as written;
- ``html``: escaped HTML, turned into text as any feed HTML is;
- ``xhtml``: an XHTML ``div`` inline, its markup turned into text the same way (the ``div`` is not part
  of the content);
- a media type on a ``content``: ``text/html`` is HTML, an XML type is read like ``xhtml``, another
  ``text/`` type is plain text; anything else (base64 data, out-of-line ``src``) is no text at all.

:class:`AtomTexts` reads them with lxml, one entry at a time (each let go once read), in the order
fastfeedparser gives the entries, so that :mod:`~scheduler.articles.feed` can pair each with its entry.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from scheduler.articles.htmltext import html_to_text

__all__ = ["ATOM_NAMESPACES", "AtomEntryTexts", "AtomText", "AtomTexts", "one_line", "plain_text"]

ATOM_NAMESPACES = ("http://www.w3.org/2005/Atom", "https://www.w3.org/2005/Atom")
"""The Atom 1.0 namespace, and the ``https`` spelling that fastfeedparser also reads as Atom 1.0."""
_ATOM_TAG_STARTS = frozenset(f"{{{ns}}}" for ns in ATOM_NAMESPACES)
_XHTML = "{http://www.w3.org/1999/xhtml}div"
_LINE_BREAK = re.compile(r"\r\n?|\n")


def plain_text(text: str) -> str:
    """A plain-text body as a post takes it: each line without the spaces around it (a feed indents its
    XML), no blank lines at the start or end; nothing else changes, no character is decoded.

    >>> plain_text("\\n    Use a < b;\\n    write &lt;br&gt; literally.\\n  ")
    'Use a < b;\\nwrite &lt;br&gt; literally.'
    """
    return "\n".join(line.strip(" \t") for line in _LINE_BREAK.split(text)).strip()


def one_line(text: str) -> str:
    """A plain-text title: its words, white space between them made one space."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class AtomText:
    """One text construct: ``kind`` is ``text``, ``html`` or ``xhtml``; ``value`` is the text, the HTML, or
    the XHTML serialized as HTML; ``blank``: it has no text but white space."""

    value: str
    kind: str
    blank: bool

    def body(self) -> tuple[str, bool]:
        """The construct as an entry's body: ``(text, True)``, or ``(html, False)`` (HTML made text later)."""
        if self.kind == "xhtml":  # a tree: what reads as a tag or a reference in its text is text
            return html_to_text(self.value, escaped_twice=False), True
        return self.value, self.kind == "text"

    @property
    def title(self) -> str:
        """The construct as a title: plain text on one line; HTML turned into text as a feed title is."""
        if self.kind == "html":
            return html_to_text(self.value)
        return one_line(html_to_text(self.value, escaped_twice=False) if self.kind == "xhtml" else self.value)


@dataclass(frozen=True, slots=True)
class AtomEntryTexts:
    """An entry's ``id`` (its first non-empty one, stripped, as fastfeedparser reads it) and text constructs,
    each None when the entry has none."""

    identity: str | None
    title: AtomText | None
    summary: AtomText | None
    content: AtomText | None


class AtomTexts:
    """The text constructs of each entry of a well-formed Atom 1.0 feed, read lazily in document order;
    ``feed_title`` is the feed's own title once the feed has been read through (None before, or when it
    has none). A feed in another namespace (Atom 0.3) has no entries here."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.feed_title: AtomText | None = None

    def __iter__(self) -> Iterator[AtomEntryTexts]:
        from lxml import etree  # type: ignore[import-untyped]  # noqa: PLC0415

        events = etree.iterparse(
            io.BytesIO(self._data),
            tag=[f"{{{ns}}}entry" for ns in ATOM_NAMESPACES],
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
        )
        root: Any = None
        namespace = ""
        for _, entry in events:
            parent = entry.getparent()
            if root is None:
                root = entry.getroottree().getroot()
                namespace = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
            if parent is None or not entry.tag.startswith(namespace or "-"):
                continue
            if parent is root and self.feed_title is None:
                self._find_title(root, namespace)
            yield _entry_texts(entry, namespace)
            entry.clear(keep_tail=True)
            if parent is root:  # a top-level entry: what came before it is read
                while entry.getprevious() is not None:
                    del root[0]
        if self.feed_title is None and events.root is not None:  # a title after the entries, or no entry
            self._find_title(events.root, namespace or events.root.tag[: events.root.tag.find("}") + 1])

    def _find_title(self, root: Any, namespace: str) -> None:
        title = root.find(namespace + "title") if namespace in _ATOM_TAG_STARTS else None
        if title is not None:
            self.feed_title = _construct(title)


def _entry_texts(entry: Any, namespace: str) -> AtomEntryTexts:
    id_tag, title_tag, summary_tag, content_tag = tags = _tags(namespace)
    identity: str | None = None
    found: dict[str, AtomText] = {}
    for child in entry.iterchildren(*tags):
        tag = child.tag
        if tag == id_tag:
            if identity is None and child.text:  # fastfeedparser takes the first id with text
                identity = child.text.strip()
        elif tag not in found:
            found[tag] = _construct(child)
    return AtomEntryTexts(identity, found.get(title_tag), found.get(summary_tag), found.get(content_tag))


@lru_cache(maxsize=4)
def _tags(namespace: str) -> tuple[str, str, str, str]:
    return namespace + "id", namespace + "title", namespace + "summary", namespace + "content"


def _construct(element: Any) -> AtomText:
    given = element.get("type")
    if given is None and not len(element):  # the most common: text, no child
        value = element.text or ""
        return AtomText(value, "text", blank=not value.strip())
    kind = (given or "text").strip().lower()
    if kind in ("text", "html", "text/html") or (kind.startswith("text/") and not kind.endswith("xml")):
        value = "".join(element.itertext()) if len(element) else element.text or ""
        return AtomText(value, "html" if kind in ("html", "text/html") else "text", blank=not value.strip())
    if kind == "xhtml" or kind.endswith(("+xml", "/xml")):
        blank = not "".join(element.itertext()).strip()
        return AtomText(_xhtml_markup(element), "xhtml", blank=blank)
    return AtomText("", "text", blank=True)  # base64 data or out-of-line content: no text to post


def _xhtml_markup(element: Any) -> str:
    """The inline XHTML of ``element`` as HTML markup without namespaces (``<xhtml:p>`` -> ``<p>``): the
    content of its ``div`` (or of the element itself, for a construct without one)."""
    from lxml import etree  # noqa: PLC0415

    children = [child for child in element if isinstance(child.tag, str)]
    container = children[0] if len(children) == 1 and children[0].tag == _XHTML else element
    for node in container.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    inner = [etree.tostring(child, encoding="unicode", method="xml", with_tail=True) for child in container]
    return escape(container.text or "", quote=False) + "".join(inner)
