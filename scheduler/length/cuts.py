"""Where a post may be cut: between words, sentences and paragraphs, never inside a grapheme, URL or hashtag.

A cut is made at whitespace where every URL and hashtag detector (twitter-text, Mastodon, Bluesky) stops,
at a grapheme boundary; the whitespace itself is dropped. Text without spaces (Chinese, Japanese) may
also be cut right after a full-width sentence end (``。！？``) that is not inside a URL or hashtag and not
followed by a letter, digit, ``#`` or ``@`` (which would start a new link or tag at the start of a part).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from enum import IntEnum
from itertools import accumulate

from scheduler.clusters import clusters
from scheduler.hashtags import find_hashtags
from scheduler.length.graphemes import inside_clusters
from scheduler.length.links import find_bluesky_links
from scheduler.length.urls import MASTODON_URLS, find_urls

BREAKING_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Whitespace at which every detector ends a URL or hashtag (a character-class body)."""

_SPACE_RUN = re.compile(f"[{BREAKING_SPACE}]+")
_SPACE_SPLIT = re.compile(f"([{BREAKING_SPACE}]+)")
_SENTENCE_END = re.compile(rf"[.!?…‽。！？][\"'”’)\]»」』）】]*(?=[{BREAKING_SPACE}])")
_WIDE_SENTENCE_END = re.compile(r"[。！？][」』）】\]]*")
_STARTS_ENTITY = re.compile(f"[{BREAKING_SPACE}A-Za-z0-9#＃@]")
"""After a full-width stop, a part must not start with what could begin a link, tag or mention there."""
_BLANK_LINE = re.compile(f"\n[{BREAKING_SPACE.replace(chr(10), '')}]*\n")
"""Two line breaks with only breaking spaces between: the run of whitespace holding one is a paragraph."""


class Kind(IntEnum):
    """How strong a break is: fitting prefers the strongest one that keeps a part reasonably full."""

    WORD = 1
    SENTENCE = 2
    PARAGRAPH = 3


@dataclass(frozen=True, slots=True)
class Cut:
    """A place to cut: the kept text ends at ``end``, the rest resumes at ``resume`` (whitespace dropped)."""

    end: int
    resume: int
    kind: Kind


def entity_spans(text: str) -> list[tuple[int, int]]:
    """The spans of every URL (X, Mastodon and Bluesky rules) and every hashtag in ``text``."""
    spans = [(start, end) for start, end, _ in find_urls(text, without_protocol=True)]
    spans += [
        (start, end) for start, end, _ in find_urls(text, without_protocol=False, grammar=MASTODON_URLS)
    ]
    spans += [(start, end) for start, end, _ in find_bluesky_links(text)]
    spans += [(tag.start, tag.end) for tag in find_hashtags(text)]
    return spans


def protected_positions(text: str) -> set[int]:
    """Positions strictly inside a URL or a hashtag: no cut falls there."""
    return {position for start, end in entity_spans(text) for position in range(start + 1, end)}


@dataclass(frozen=True, slots=True)
class CutTable:
    """Every place a text may be cut, in order, as three lists: the i-th cut is ``ends[i]``, ``resumes[i]``,
    ``kinds[i]`` (see :class:`Cut`). Fitting searches these; building them costs less than a Cut each."""

    ends: list[int]
    resumes: list[int]
    kinds: list[Kind]

    def __len__(self) -> int:
        return len(self.ends)


def cut_table(text: str) -> CutTable:
    """Every place ``text`` may be cut, in order (:func:`find_cuts`, as a :class:`CutTable`).

    Each run of breaking whitespace is a cut, unless it starts the text or falls inside a URL, a hashtag or a
    grapheme cluster; the rest resumes after the run, or where the cluster holding that place starts. A run
    is a PARAGRAPH break when it holds a blank line, else a SENTENCE break after a sentence end that no
    lower-case letter follows, else a WORD break. Full-width sentence ends are cuts of their own.
    """
    inside = inside_clusters(text)
    forbidden = protected_positions(text) | inside
    ends, after_runs = _space_runs(text)
    if ends[:1] == [0] or not forbidden.isdisjoint(ends):
        kept = [
            (end, after) for end, after in zip(ends, after_runs, strict=True) if end and end not in forbidden
        ]
        ends, after_runs = [end for end, _ in kept], [after for _, after in kept]
    resumes = [_cluster_start(after, inside) for after in after_runs] if inside else after_runs
    table = CutTable(ends, resumes, _run_kinds(text, ends, after_runs))
    wide = _wide_cuts(text, forbidden)
    if not wide:
        return table
    merged = sorted(
        [*zip(table.ends, table.resumes, table.kinds, strict=True), *wide], key=lambda cut: cut[0]
    )
    return CutTable([cut[0] for cut in merged], [cut[1] for cut in merged], [cut[2] for cut in merged])


def _run_kinds(text: str, ends: list[int], after_runs: list[int]) -> list[Kind]:
    """The kind of each run of whitespace that is a cut (``text[ends[i]:after_runs[i]]``, in order)."""
    kinds = [Kind.WORD] * len(ends)
    for end in {match.end() for match in _SENTENCE_END.finditer(text)}:
        index = _index_of(ends, end)
        if index >= 0 and not text[after_runs[index] : after_runs[index] + 1].islower():
            kinds[index] = Kind.SENTENCE
    for blank_line in _BLANK_LINE.finditer(text):
        index = bisect_right(ends, blank_line.start()) - 1
        if index >= 0 and blank_line.start() < after_runs[index]:
            kinds[index] = Kind.PARAGRAPH
    return kinds


def _wide_cuts(text: str, forbidden: set[int]) -> list[tuple[int, int, Kind]]:
    """The cuts right after a full-width sentence end (none in ASCII text)."""
    if text.isascii():
        return []
    return [
        (mark.end(), mark.end(), Kind.SENTENCE)
        for mark in _WIDE_SENTENCE_END.finditer(text)
        if mark.end() < len(text)
        and mark.end() not in forbidden
        and not _STARTS_ENTITY.match(text, mark.end())
    ]


def _space_runs(text: str) -> tuple[list[int], list[int]]:
    """Where each run of breaking whitespace starts, and where it ends.

    Splitting keeps the runs (``[word, run, word, ..., word]``), so the running total of the pieces'
    lengths alternates between the start and the end of a run.
    """
    bounds = list(accumulate(map(len, _SPACE_SPLIT.split(text))))
    return bounds[0:-1:2], bounds[1::2]


def _cluster_start(position: int, inside: set[int]) -> int:
    """``position``, or the start of the grapheme cluster it falls inside."""
    while position in inside:
        position -= 1
    return position


def _index_of(ordered: list[int], value: int) -> int:
    """The index of ``value`` in the sorted list ``ordered``, -1 if it is not there."""
    index = bisect_left(ordered, value)
    return index if index < len(ordered) and ordered[index] == value else -1


def find_cuts(text: str) -> list[Cut]:
    """Every place ``text`` may be cut, in order."""
    table = cut_table(text)
    return [Cut(*cut) for cut in zip(table.ends, table.resumes, table.kinds, strict=True)]


def trim(text: str) -> str:
    """``text`` without leading and trailing breaking whitespace, removing whole grapheme clusters only.

    A text that neither starts nor ends with breaking whitespace is returned as it is: its first and last
    clusters hold a character that is not whitespace, so no cluster is removed.
    """
    if not text or (_SPACE_RUN.match(text[0]) is None and _SPACE_RUN.match(text[-1]) is None):
        return text
    return _trim_clusters(text)


def _trim_clusters(text: str) -> str:
    """:func:`trim`, cluster by cluster."""
    found = clusters(text)
    kept = [index for index, cluster in enumerate(found) if not _SPACE_RUN.fullmatch(cluster)]
    return "".join(found[kept[0] : kept[-1] + 1]) if kept else ""
