"""Cutting a text short: to whole sentences, or to whole words, never inside a grapheme, a URL or a hashtag.

Both are template filters (:data:`scheduler.render.filters.FILTERS`) and plain functions.
"""

from __future__ import annotations

from collections.abc import Iterator

import regex

from scheduler.clusters import cluster_starts
from scheduler.hashtags import find_hashtags, grapheme_count

_URL = regex.compile(
    r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s。！？、，「」『』（）]+?(?=[.,;:!?…'\"”’)\]]*(?:[\s。！？、，]|$))",
    regex.IGNORECASE,
)
_SENTENCE_END = regex.compile(
    r"(?P<stop>[.!?…]+)[\"'”’»)\]]*(?=\s)"
    r"|[。！？]+[」』）\"'”’]*"
    r"|(?=\n[ \t]*\n)"
)
_NEXT_VISIBLE = regex.compile(r"\s*(\S)")
_INITIALS = regex.compile(r"(?:\p{L}\.)*\p{L}")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "cf", "ca", "approx", "fig", "vol"}
    | {"gen", "col", "lt", "capt", "sgt", "maj", "adm", "gov", "rev"}
)
_OPENING_MARKS = "(\"'“‘«["
_DANGLING = regex.compile(r"[\s,;:.\-–—]+$")


def sentences(text: str | None, n: int) -> str:
    """The first ``n`` sentences of ``text`` (all of it when it has fewer), as written there.

    A sentence ends at ``. ! ? …`` (and any closing quote or bracket) followed by whitespace, at
    ``。！？``, or at a blank line. A full stop inside a URL, after an abbreviation (``Dr.``, ``e.g.``),
    after an initial (``J. Smith``) or followed by a lower-case word does not end a sentence::

        {{ body | sentences(2) }}
    """
    text = text or ""
    if n <= 0:
        return ""
    count = previous = 0
    for end in _sentence_ends(text):
        if text[previous:end].strip():
            count += 1
            if count == n:
                return text[:end].strip()
            previous = end
    return text.strip()


def truncate_words(text: str | None, length: int, end: str = "…") -> str:
    """``text`` cut to at most ``length`` graphemes, ``end`` included, at a word boundary.

    A text that fits is returned unchanged. The cut falls on whitespace, never inside a URL or a hashtag;
    only a text with no usable whitespace (Chinese, Japanese, one very long word) is cut between two
    graphemes, still outside URLs and hashtags. Trailing ``, ; : . -`` before ``end`` are dropped, and a text
    that cannot keep even one word gives ``""``::

        {{ body | truncate_words(200) }}
        {{ body | truncate_words(200, end=" [...]") }}
    """
    text = text or ""
    starts = cluster_starts(text)
    if len(starts) <= length:
        return text
    budget = length - grapheme_count(end)
    if budget <= 0:
        return ""
    cut = _cut_at_space(text, starts[: budget + 1]) or _cut_between_graphemes(text, starts[1 : budget + 1])
    kept = _DANGLING.sub("", text[:cut]) if cut else ""
    return kept + end if kept else ""


def _sentence_ends(text: str) -> Iterator[int]:
    urls = [match.span() for match in _URL.finditer(text)]
    for match in _SENTENCE_END.finditer(text):
        if not _inside(match.start(), urls) and _ends_sentence(text, match):
            yield match.end()


def _ends_sentence(text: str, match: regex.Match[str]) -> bool:
    stop = match.group("stop")
    if stop is None or stop.strip(".…"):
        return True
    following = _NEXT_VISIBLE.match(text, match.end())
    if following and following.group(1).islower():
        return False
    if stop != ".":
        return True
    begin = match.start()
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    word = text[begin : match.start()].lstrip(_OPENING_MARKS).casefold()
    return not (word in _ABBREVIATIONS or _INITIALS.fullmatch(word))


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < position < end for start, end in spans)


def _cut_at_space(text: str, starts: list[int]) -> int | None:
    first_visible = len(text) - len(text.lstrip())
    for position in reversed(starts):
        if position <= first_visible:
            return None
        if text[position].isspace():
            return position
    return None


def _cut_between_graphemes(text: str, starts: list[int]) -> int | None:
    protected = [match.span() for match in _URL.finditer(text)]
    protected += [(tag.start, tag.end) for tag in find_hashtags(text)]
    first_visible = len(text) - len(text.lstrip())
    for position in reversed(starts):
        if position <= first_visible:
            return None
        if not _inside(position, protected):
            return position
    return None
