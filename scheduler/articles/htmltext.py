"""HTML (a feed's summary or content) to the plain text of a post, with a real HTML parser.

Block elements (``<p>``, ``<div>``, ``<li>``, headings, ``<blockquote>``...) become paragraphs separated by a
blank line, ``<br>`` a line break; ``<script>``, ``<style>`` and the like are dropped; character references
are decoded once, so no tag and no ``&amp;`` ever reaches a post::

    >>> html_to_text("<p>Zhukov &amp; the <b>6th Army</b></p><p>1939<br>August</p>")
    'Zhukov & the 6th Army\\n\\n1939\\nAugust'
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_PARAGRAPH = "\x00"
_LINE = "\x01"


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.out.append(_LINE)
        elif tag in _BLOCKS:
            self.out.append(_PARAGRAPH)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and not self.skipping:
                self.out.append(alt)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.out.append(_PARAGRAPH)

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(data.replace(_PARAGRAPH, "").replace(_LINE, ""))


_STILL_MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+\d*);")


def html_to_text(html: str, *, escaped_twice: bool = True) -> str:
    """The text of ``html`` as paragraphs (blank line between them) with spaces collapsed.

    A feed that escaped its HTML twice (``&amp;lt;p&amp;gt;``) still leaves tags or references after one
    pass; they are parsed once more, so that none reaches a post. ``escaped_twice=False``: markup that cannot
    be escaped twice (an Atom ``xhtml`` construct, a tree serialized), whose text ``<br>`` is text.
    """
    text = _one_pass(html)
    return _one_pass(text) if escaped_twice and _STILL_MARKUP.search(text) else text


_PLAIN_TAG = re.compile(
    r"""<(?:([A-Za-z][A-Za-z0-9]*)(?=[\t\n\r\f />])"""
    r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"<]*"|'[^'<]*'|[^\s"'=<>`]+))?)*\s*/?"""
    r"|/([A-Za-z][A-Za-z0-9]*)\s*)>"
)
"""A start or end tag whose end no parser could read differently: letters and digits for a name, ended where
the parser ends it (an ASCII space, ``/`` or ``>``: ``<p\u00a0>`` is a tag named ``p\u00a0``), attribute
values quoted or plain, no ``<`` inside."""
_NEEDS_PARSER = _SKIPPED | {"img"}


def _plain_tags(html: str) -> list[str] | None:
    """What :class:`_TextParser` gives for ``html`` made only of text and plain tags (no ``<img>``, script,
    comment, declaration or stray ``<``), read with one regular expression; None for any other HTML.

    Most feed summaries are such HTML (``<p>``, ``<b>``, ``<a href="...">``), and the parser, written in
    Python, costs several times more for them."""
    out: list[str] = []
    position = 0
    for tag in _PLAIN_TAG.finditer(html):
        data = html[position : tag.start()]
        if "<" in data:
            return None
        if data:
            out.append(unescape(data).replace(_PARAGRAPH, "").replace(_LINE, ""))
        name = (tag.group(1) or tag.group(2)).lower()
        if name in _NEEDS_PARSER:
            return None
        if name == "br":
            if tag.group(1):
                out.append(_LINE)
        elif name in _BLOCKS:
            out.append(_PARAGRAPH)
        position = tag.end()
    rest = html[position:]
    if "<" in rest:
        return None
    if rest:
        out.append(unescape(rest).replace(_PARAGRAPH, "").replace(_LINE, ""))
    return out


def _one_pass(html: str) -> str:
    if "<" in html or "&" in html:
        out = _plain_tags(html)
        if out is None:
            parser = _TextParser()
            parser.feed(html)
            parser.close()
            out = parser.out
    else:  # no tag and no reference (a feed's title, most often): the parser would pass it on as data
        out = [html.replace(_PARAGRAPH, "").replace(_LINE, "")]
    joined = "".join(out).replace("\n", " ")
    paragraphs = []
    for block in joined.split(_PARAGRAPH):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split(_LINE)]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)
