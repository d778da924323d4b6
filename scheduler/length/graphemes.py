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

from scheduler.clusters import clusters, grapheme_count, joining_regions

__all__ = ["grapheme_count", "inside_clusters", "utf8_length", "utf16_length"]


def inside_clusters(text: str) -> set[int]:
    """The indices that fall strictly inside a grapheme cluster: no text may be cut there."""
    inside: set[int] = set()
    if text.isascii():
        if "\r" in text:
            inside.update(index + 1 for index in _crlf_starts(text))
        return inside
    for start, end in joining_regions(text):
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
    """The number of UTF-16 code units (what JavaScript's ``String.length`` says).

    >>> utf16_length("😷"), utf8_length("😷"), grapheme_count("👨‍👩‍👧‍👦 e\u0301")
    (2, 4, 3)
    """
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
