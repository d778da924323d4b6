"""Counting text in the units networks use: grapheme clusters, code points, UTF-8 bytes, UTF-16 code units."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")


def grapheme_count(text: str) -> int:
    """The number of extended grapheme clusters (what a reader sees as characters).

    >>> grapheme_count("👨‍👩‍👧‍👦 e\u0301")
    3
    """
    return len(_GRAPHEME.findall(text))


def grapheme_boundaries(text: str) -> list[int]:
    """Every code-point index at which a grapheme cluster starts, then ``len(text)``."""
    starts = [match.start() for match in _GRAPHEME.finditer(text)]
    starts.append(len(text))
    return starts


def utf8_length(text: str) -> int:
    """The number of bytes of ``text`` in UTF-8 (a lone surrogate counts 3, like a browser's U+FFFD)."""
    return len(text.encode("utf-8", "surrogatepass"))


def utf16_length(text: str) -> int:
    """The number of UTF-16 code units (what JavaScript's ``String.length`` says)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
