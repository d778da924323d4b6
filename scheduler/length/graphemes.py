"""Counting text in the units networks use: grapheme clusters, code points, UTF-8 bytes, UTF-16 code units.

Grapheme clusters come from the ``regex`` module's ``\\X``. Segmenting is the slow part of counting, so only
the stretches that need it are segmented: two ASCII characters always have a boundary between them (except
CR LF), and without any "prepend" character (rare: Arabic number signs, a few Indic ones) an ASCII character
after a non-ASCII one always starts a cluster too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import regex

from scheduler.clusters import clusters

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_CRLF = re.compile("\r\n")
_PREPEND = regex.compile(r"\p{Grapheme_Cluster_Break=Prepend}")


def _pieces(text: str) -> Iterator[tuple[int, int, bool]]:
    """``(start, end, segment)``: consecutive stretches covering ``text``, each starting and ending on a
    cluster boundary; those with ``segment`` false are ASCII, one cluster per code point but CR LF."""
    if _PREPEND.search(text):
        yield 0, len(text), True
        return
    position = 0
    for run in _NON_ASCII_RUN.finditer(text):
        start = run.start()
        if start > position:
            start -= 1
            if start > position and text[start - 1 : start + 1] == "\r\n":
                start -= 1
        if start > position:
            yield position, start, False
        yield start, run.end(), True
        position = run.end()
    if position < len(text):
        yield position, len(text), False


def grapheme_count(text: str) -> int:
    """The number of extended grapheme clusters (what a reader sees as characters).

    >>> grapheme_count("👨‍👩‍👧‍👦 e\u0301")
    3
    """
    if text.isascii():
        return len(text) - text.count("\r\n")
    count = 0
    for start, end, segment in _pieces(text):
        if segment:
            count += len(clusters(text, start, end))
        else:
            count += end - start - text.count("\r\n", start, end)
    return count


def inside_clusters(text: str) -> set[int]:
    """The indices that fall strictly inside a grapheme cluster: no text may be cut there."""
    if text.isascii():
        return {match.start() + 1 for match in _CRLF.finditer(text)}
    inside: set[int] = set()
    for start, end, segment in _pieces(text):
        if segment:
            position = start
            for cluster in clusters(text, start, end):
                inside.update(range(position + 1, position + len(cluster)))
                position += len(cluster)
        else:
            inside.update(match.start() + 1 for match in _CRLF.finditer(text, start, end))
    return inside


def utf8_length(text: str) -> int:
    """The number of bytes of ``text`` in UTF-8 (a lone surrogate counts 3, like a browser's U+FFFD)."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units (what JavaScript's ``String.length`` says)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
