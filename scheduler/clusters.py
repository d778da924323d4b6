"""Grapheme clusters (what a reader sees as one character) in linear time.

The ``regex`` module's ``\\X`` decides each boundary inside a run of regional indicators (the letters of flag
emoji) by counting the indicators before it, so a run of 20,000 takes seconds and 100,000 minutes. Indicators
pair up from the start of a run, so every second position of a run is a boundary: the text is cut there first
and ``\\X`` only ever sees short pieces.

    >>> [len(cluster) for cluster in clusters("🇲🇳🇩🇪🇫 e\\u0301")]
    [2, 2, 1, 1, 2]

:func:`grapheme_count` counts them without building the list, segmenting only what needs it: the one count
of graphemes the hashtag rules, the cutting and every length rule share.
"""

from __future__ import annotations

from functools import lru_cache

import regex

_GRAPHEME = regex.compile(r"\X")
_INDICATOR_RUN = regex.compile(r"[\U0001F1E6-\U0001F1FF]{3,}")


def clusters(text: str, start: int = 0, end: int | None = None) -> list[str]:
    """The grapheme clusters of ``text[start:end]`` (which must start and end on cluster boundaries)."""
    if start or end is not None:
        text = text[start:end]
        start, end = 0, None
    end = len(text) if end is None else end
    found: list[str] = []
    position = start
    for run in _INDICATOR_RUN.finditer(text, start, end):
        for boundary in range(run.start() + 2, run.end(), 2):
            # A slice, not findall(text, position, boundary): \X would still count the indicators before it.
            found.extend(_GRAPHEME.findall(text[position:boundary]))
            position = boundary
    found.extend(_GRAPHEME.findall(text[position:end]))
    return found


def cluster_starts(text: str) -> list[int]:
    """The index where each grapheme cluster of ``text`` starts."""
    starts: list[int] = []
    position = 0
    for cluster in clusters(text):
        starts.append(position)
        position += len(cluster)
    return starts


_JOINING_RUN = regex.compile(r"[^\p{Grapheme_Cluster_Break=Other}\p{Grapheme_Cluster_Break=Control}\n]+")
"""Code points that may join the one before or after them into a cluster (CR among them: CR LF)."""


def joining_regions(text: str) -> list[tuple[int, int]]:
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
    for start, end in joining_regions(text):
        count -= end - start - len(clusters(text, start, end))
    return count


_line_count = lru_cache(maxsize=1024)(_segmented_count)
