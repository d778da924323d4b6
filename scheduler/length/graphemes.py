"""Counting text in the units networks use: grapheme clusters, code points, UTF-8 bytes, UTF-16 code units.

Grapheme clusters come from the ``regex`` module's ``\\X``. Segmenting is the slow part of counting, so only
the stretches that need it are segmented. Every rule that joins two code points into one cluster has a code
point on its left or right whose ``Grapheme_Cluster_Break`` is neither Other nor Control nor LF (an Extend,
a ZWJ, a Prepend, a regional indicator, a Hangul jamo, a CR...): between two code points of those three
classes there is always a boundary. So only the runs of the other code points, with one code point on either
side, are segmented; everything else is one cluster per code point. Letters of most scripts, CJK, ASCII but
CR, and emoji without modifiers or ZWJ are all Other.
"""

from __future__ import annotations

from functools import lru_cache

import regex

from scheduler.clusters import clusters

_JOINING_RUN = regex.compile(r"[^\p{Grapheme_Cluster_Break=Other}\p{Grapheme_Cluster_Break=Control}\n]+")
"""Code points that may join the one before or after them into a cluster (CR among them: CR LF)."""


def _regions(text: str) -> list[tuple[int, int]]:
    """``(start, end)``: the stretches of ``text`` that need segmenting, each starting and ending on a cluster
    boundary; every code point outside them is a cluster of its own."""
    regions: list[tuple[int, int]] = []
    for run in _JOINING_RUN.finditer(text):
        start, end = max(run.start() - 1, 0), min(run.end() + 1, len(text))
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def grapheme_count(text: str) -> int:
    """The number of extended grapheme clusters (what a reader sees as characters).

    >>> grapheme_count("👨‍👩‍👧‍👦 e\u0301")
    3
    """
    if text.isascii():
        return len(text) - text.count("\r\n")
    if "\r" in text:
        return _segmented_count(text)
    # Without CR, a line feed is a cluster of its own: lines count apart, and the lines of the texts that
    # fitting probes (the same title, paragraphs and tags, again and again) are counted once.
    lines = text.split("\n")
    return (
        len(lines)
        - 1
        + sum(_line_count(line) if len(line) <= _CACHED_LINE else _segmented_count(line) for line in lines)
    )


_CACHED_LINE = 512
"""Lines up to this many code points have their count remembered (the last 1,024 of them: at most 2 MB)."""


def _segmented_count(text: str) -> int:
    if text.isascii():
        return len(text) - text.count("\r\n")
    count = len(text)
    for start, end in _regions(text):
        count -= end - start - len(clusters(text, start, end))
    return count


_line_count = lru_cache(maxsize=1024)(_segmented_count)


def inside_clusters(text: str) -> set[int]:
    """The indices that fall strictly inside a grapheme cluster: no text may be cut there."""
    inside: set[int] = set()
    if text.isascii():
        if "\r" in text:
            inside.update(index + 1 for index in _crlf_starts(text))
        return inside
    for start, end in _regions(text):
        position = start
        for cluster in clusters(text, start, end):
            inside.update(range(position + 1, position + len(cluster)))
            position += len(cluster)
    return inside


def _crlf_starts(text: str) -> list[int]:
    starts: list[int] = []
    index = text.find("\r\n")
    while index >= 0:
        starts.append(index)
        index = text.find("\r\n", index + 2)
    return starts


def utf8_length(text: str) -> int:
    """The number of bytes of ``text`` in UTF-8 (a lone surrogate counts 3, like a browser's U+FFFD)."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units (what JavaScript's ``String.length`` says)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
