"""Grapheme clusters (what a reader sees as one character) in linear time.

The ``regex`` module's ``\\X`` decides each boundary inside a run of regional indicators (the letters of flag
emoji) by counting the indicators before it, so a run of 20,000 takes seconds and 100,000 minutes. Indicators
pair up from the start of a run, so every second position of a run is a boundary: the text is cut there first
and ``\\X`` only ever sees short pieces.

    >>> clusters("🇲🇳🇩🇪🇫 e\\u0301")
    ['🇲🇳', '🇩🇪', '🇫', ' ', 'é']
"""

from __future__ import annotations

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
