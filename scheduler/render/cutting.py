"""Cutting a text short: to whole sentences, or to whole words, never inside a grapheme, a URL or a hashtag.

Both are template filters (:data:`scheduler.render.filters.FILTERS`) and plain functions.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

import regex

from scheduler.clusters import cluster_starts
from scheduler.hashtags import find_hashtags
from scheduler.length.graphemes import grapheme_count

_URL_HEADS = (
    regex.compile(r"\b[a-z][a-z0-9+.-]{0,31}://", regex.IGNORECASE),
    regex.compile(r"\bwww\.", regex.IGNORECASE),
)
_URL_START = regex.compile("|".join(head.pattern for head in _URL_HEADS), regex.IGNORECASE)
_URL_BODY = regex.compile(r"[^\s。！？、，「」『』（）]+")
_URL_TERMINATOR = regex.compile(r"[\s。！？、，]")
_URL_TRAILING = ".,;:!?…'\"”’)]"
_SENTENCE_END = regex.compile(
    # Only from the first mark of a run: started again at every "!" of "!!!...x", it was quadratic.
    r"(?<![.!?…])(?P<stop>[.!?…]+)[\"'”’»)\]]*(?=\s)"
    r"|[。！？]+[」』）\"'”’]*"
    r"|(?=\n[ \t]*\n)"
)
_NEXT_VISIBLE = regex.compile(r"\s*(\S)")
_VISIBLE = regex.compile(r"\S")
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
    count = 0
    visible = _first_visible(text, 0)
    for end in _sentence_ends(text):
        if visible < end:  # some text since the last sentence (not text[previous:end].strip(): quadratic)
            count += 1
            if count == n:
                return text[:end].strip()
            visible = _first_visible(text, end)
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


def _first_visible(text: str, start: int) -> int:
    found = _VISIBLE.search(text, start)
    return found.start() if found else len(text)


def _url_spans(text: str) -> list[tuple[int, int]]:
    """Where the URLs of ``text`` are: a scheme (or ``www.``), then everything up to whitespace or a CJK stop,
    without trailing punctuation. Found by scanning once (a lazy regex with a look-ahead over the trailing
    punctuation was quadratic on ``http://a....x``)."""
    spans: list[tuple[int, int]] = []
    position = 0
    while (found := _URL_START.search(text, position)) is not None:
        at, span, position = found.start(), None, found.start() + 1
        for head in (pattern.match(text, at) for pattern in _URL_HEADS):
            body = _URL_BODY.match(text, head.end()) if head else None
            if head is None or body is None:
                continue
            if body.end() == len(text) or _URL_TERMINATOR.match(text, body.end()):
                span = (at, head.end() + max(len(body.group().rstrip(_URL_TRAILING)), 1))
                break
            # No URL starts inside this stretch either: each would end where this one does.
            position = max(position, body.end())
        if span is not None:
            spans.append(span)
            position = span[1]
    return spans


def _sentence_ends(text: str) -> Iterator[int]:
    urls = _url_spans(text)
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
    """Whether ``position`` falls strictly inside one of ``spans`` (sorted by start, not overlapping)."""
    index = bisect_left(spans, (position,)) - 1
    return index >= 0 and spans[index][0] < position < spans[index][1]


def _cut_at_space(text: str, starts: list[int]) -> int | None:
    first_visible = len(text) - len(text.lstrip())
    for position in reversed(starts):
        if position <= first_visible:
            return None
        if text[position].isspace():
            return position
    return None


def _cut_between_graphemes(text: str, starts: list[int]) -> int | None:
    protected = _url_spans(text)
    tags = [(tag.start, tag.end) for tag in find_hashtags(text)]
    first_visible = len(text) - len(text.lstrip())
    for position in reversed(starts):
        if position <= first_visible:
            return None
        if not _inside(position, protected) and not _inside(position, tags):
            return position
    return None
