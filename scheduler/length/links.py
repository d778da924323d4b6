"""Links as the Bluesky app detects them (packages/api/src/rich-text/detection.ts, ``URL_REGEX``).

A link starts the text or follows whitespace or ``(``; it is ``http(s)://`` and all up to the next whitespace,
or a bare domain whose last label is a known TLD (``https://`` is then prepended). One trailing ``.,;:!?`` is
dropped, then a ``)`` when the link has no ``(``. Unlike the app, the scheme and the TLD are matched
case-insensitively, so ``HTTPS://EXAMPLE.COM`` is a link too.

>>> find_bluesky_links("Read (example.com/a) and https://bsky.app/profile/x.")
[(6, 19, 'https://example.com/a'), (25, 51, 'https://bsky.app/profile/x')]
"""

from __future__ import annotations

import re

from scheduler.length.tlds import TLDS

JS_WHITESPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
"""What JavaScript's ``\\s`` matches, as the body of a character class."""

_LINK = re.compile(
    rf"(?:^|(?<=[{JS_WHITESPACE}(]))"
    rf"(?:https?://[^{JS_WHITESPACE}]+|(?P<domain>[a-z][a-z0-9]*(?:\.[a-z0-9]+)+)[^{JS_WHITESPACE}]*)",
    re.IGNORECASE,
)
_DOT_HINT = re.compile(r"\.[a-z0-9]", re.IGNORECASE)
"""What a link without a scheme has: a dot followed by a domain label (a link with one has ``://``)."""
_TOKEN_REST = re.compile(rf"[^{JS_WHITESPACE}]*")
_WHITESPACE_CHARS = frozenset("\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff") | frozenset(
    map(chr, range(0x2000, 0x200B))
)
"""The characters of ``JS_WHITESPACE``."""
_TRAILING_PUNCTUATION = ".,;:!?"
_SCHEME = re.compile("https?://", re.IGNORECASE)


def find_bluesky_links(text: str) -> list[tuple[int, int, str]]:
    """Every link in ``text`` as ``(start, end, uri)``: code-point offsets of the link text, and its URI."""
    return [link for start, end in _hinted_tokens(text) for link in _links_between(text, start, end)]


def _hinted_tokens(text: str) -> list[tuple[int, int]]:
    """The spans of the whitespace-free tokens of ``text`` that hold a ``://`` or a ``_DOT_HINT``: a link
    never spans whitespace, so no link lies outside them."""
    spans: list[tuple[int, int]] = []
    token_end = 0
    for hint in _hints(text):
        if hint < token_end:
            continue
        token_start = hint
        while token_start > 0 and text[token_start - 1] not in _WHITESPACE_CHARS:
            token_start -= 1
        rest = _TOKEN_REST.match(text, hint)
        token_end = rest.end() if rest else hint + 1
        spans.append((token_start, token_end))
    return spans


def _hints(text: str) -> list[int]:
    """Where each ``://`` and each ``_DOT_HINT`` of ``text`` starts, in order."""
    starts = [match.start() for match in _DOT_HINT.finditer(text)]
    scheme = text.find("://")
    while scheme >= 0:
        starts.append(scheme)
        scheme = text.find("://", scheme + 1)
    return sorted(starts)


def _links_between(text: str, token_start: int, token_end: int) -> list[tuple[int, int, str]]:
    links: list[tuple[int, int, str]] = []
    for match in _LINK.finditer(text, token_start, token_end):
        start, end, written = match.start(), match.end(), match[0]
        domain = match["domain"]
        if domain is not None and domain.rsplit(".", 1)[1].lower() not in TLDS:
            continue
        if written[-1] in _TRAILING_PUNCTUATION:
            written, end = written[:-1], end - 1
        if written.endswith(")") and "(" not in written:
            written, end = written[:-1], end - 1
        scheme = _SCHEME.match(written)
        if scheme and scheme.end() == len(written):
            continue
        links.append((start, end, written if domain is None else "https://" + written))
    return links
