"""Where a post may be cut: between words, sentences and paragraphs, never inside a grapheme, URL or hashtag.

A cut is made at whitespace where every URL and hashtag detector (twitter-text, Mastodon, Bluesky) stops,
at a grapheme boundary; the whitespace itself is dropped. Text without spaces (Chinese, Japanese) may
also be cut right after a full-width sentence end (``。！？``) that is not inside a URL or hashtag.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from enum import IntEnum
from itertools import accumulate

import regex

from scheduler.hashtags import find_hashtags
from scheduler.length.links import find_bluesky_links
from scheduler.length.urls import MASTODON_URLS, find_urls

BREAKING_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Whitespace at which every detector ends a URL or hashtag (a character-class body)."""

_BREAKING = re.compile(f"[{BREAKING_SPACE}]")
_SPACE_RUN = re.compile(f"[{BREAKING_SPACE}]+")
_SENTENCE_END = re.compile(r"[.!?…‽][\"'”’)\]»]*\Z")
_WIDE_SENTENCE_END = re.compile(r"[。！？][」』）】\]]*")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_SPACE_CLUSTER = re.compile(f"[{BREAKING_SPACE}]+")
_GRAPHEME = regex.compile(r"\X")


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


def protected_positions(text: str) -> set[int]:
    """Positions strictly inside a URL (X, Mastodon or Bluesky rules) or a hashtag: no cut falls there."""
    spans = [(start, end) for start, end, _ in find_urls(text, without_protocol=True)]
    spans += [
        (start, end) for start, end, _ in find_urls(text, without_protocol=False, grammar=MASTODON_URLS)
    ]
    spans += [(start, end) for start, end, _ in find_bluesky_links(text)]
    spans += [(tag.start, tag.end) for tag in find_hashtags(text)]
    return {position for start, end in spans for position in range(start + 1, end)}


def _cluster_starts(text: str) -> Container[int]:
    """Every index at which a grapheme cluster starts (and ``len(text)``)."""
    if text.isascii() and "\r\n" not in text:
        return range(len(text) + 1)
    return {0, *accumulate(map(len, _GRAPHEME.findall(text)))}


def find_cuts(text: str) -> list[Cut]:
    """Every place ``text`` may be cut, in order."""
    starts = _cluster_starts(text)
    protected = protected_positions(text)
    cuts: list[Cut] = []
    for run in _SPACE_RUN.finditer(text):
        end = run.start()
        if end == 0 or end not in starts or end in protected:
            continue
        resume = run.end()
        while resume not in starts:
            resume -= 1
        following = text[run.end() : run.end() + 1]
        if _PARAGRAPH_BREAK.search(run[0]):
            kind = Kind.PARAGRAPH
        elif _SENTENCE_END.search(text, max(0, end - 8), end) and not following.islower():
            kind = Kind.SENTENCE
        else:
            kind = Kind.WORD
        cuts.append(Cut(end, resume, kind))
    for mark in _WIDE_SENTENCE_END.finditer(text):
        end = mark.end()
        if end < len(text) and end in starts and end not in protected and not _BREAKING.match(text, end):
            cuts.append(Cut(end, end, Kind.SENTENCE))
    cuts.sort(key=lambda cut: cut.end)
    return cuts


def trim(text: str) -> str:
    """``text`` without leading and trailing breaking whitespace, removing whole grapheme clusters only."""
    clusters = _GRAPHEME.findall(text)
    kept = [index for index, cluster in enumerate(clusters) if not _SPACE_CLUSTER.fullmatch(cluster)]
    return "".join(clusters[kept[0] : kept[-1] + 1]) if kept else ""
