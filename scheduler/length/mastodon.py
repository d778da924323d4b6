"""Mastodon's status length (app/validators/status_length_validator.rb).

The server counts the grapheme clusters of the content warning followed by the text, once the text is
rewritten: each URL that has a scheme becomes 23 characters (``characters_reserved_per_url``), a bare
``example.com`` stays as written, and ``@user@domain`` counts as ``@user``.

>>> mastodon_length("Hi @alice@example.social, see https://example.com/a/very/long/path")
38
"""

from __future__ import annotations

import regex

from scheduler.length.graphemes import grapheme_count
from scheduler.length.urls import LATIN_ACCENTS, MASTODON_URLS, find_urls

URL_PLACEHOLDER_LENGTH = 23

_MENTION = regex.compile(
    r"(?<![=/\w])@(?>(?P<user>[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[\w.-]+\w)?)"
    rf"(?![@＠{LATIN_ACCENTS}]|://)",
    regex.IGNORECASE,
)


def countable_text(text: str, *, url_length: int = URL_PLACEHOLDER_LENGTH) -> str:
    """``text`` rewritten as Mastodon counts it: URLs as ``x`` * 23, remote mentions without their domain."""
    entities: list[tuple[int, int, str]] = [
        (start, end, "x" * url_length)
        for start, end, _ in find_urls(text, without_protocol=False, grammar=MASTODON_URLS)
    ]
    if "@" in text:
        entities.extend(
            (match.start(), match.end(), "@" + match["user"]) for match in _MENTION.finditer(text)
        )
    pieces: list[str] = []
    position = 0
    for start, end, replacement in sorted(entities):
        if start < position:
            continue
        pieces.append(text[position:start])
        pieces.append(replacement)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def mastodon_length(text: str, *, spoiler_text: str = "", url_length: int = URL_PLACEHOLDER_LENGTH) -> int:
    """What Mastodon compares with ``max_characters``: graphemes of the content warning plus the text."""
    return grapheme_count(spoiler_text + countable_text(text, url_length=url_length))
