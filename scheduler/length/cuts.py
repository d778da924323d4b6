"""Where a post may be cut: between words, sentences and paragraphs, never inside a grapheme, URL or hashtag.

A cut is made at whitespace where every URL and hashtag detector (twitter-text, Mastodon, Bluesky) stops,
at a grapheme boundary; the whitespace itself is dropped. Text without spaces (Chinese, Japanese) may
also be cut right after a full-width sentence end (``。！？``) that is not inside a URL or hashtag and not
followed by a letter, digit, ``#`` or ``@`` (which would start a new link or tag at the start of a part).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

import regex

from scheduler.hashtags import find_hashtags
from scheduler.length.graphemes import inside_clusters
from scheduler.length.links import find_bluesky_links
from scheduler.length.urls import MASTODON_URLS, find_urls

BREAKING_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""Whitespace at which every detector ends a URL or hashtag (a character-class body)."""

_SPACE_RUN = re.compile(f"[{BREAKING_SPACE}]+")
_SENTENCE_END = re.compile(rf"[.!?…‽。！？][\"'”’)\]»」』）】]*(?=[{BREAKING_SPACE}])")
_WIDE_SENTENCE_END = re.compile(r"[。！？][」』）】\]]*")
_STARTS_ENTITY = re.compile(f"[{BREAKING_SPACE}A-Za-z0-9#＃@]")
"""After a full-width stop, a part must not start with what could begin a link, tag or mention there."""
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
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


def find_cuts(text: str) -> list[Cut]:
    """Every place ``text`` may be cut, in order."""
    inside = inside_clusters(text)
    forbidden = protected_positions(text) | inside
    cuts: list[Cut] = []
    sentence_ends = {match.end() for match in _SENTENCE_END.finditer(text)}
    for run in _SPACE_RUN.finditer(text):
        end, resume = run.span()
        if end == 0 or end in forbidden:
            continue
        while resume in inside:
            resume -= 1
        if "\n" in run[0] and _PARAGRAPH_BREAK.search(run[0]):
            kind = Kind.PARAGRAPH
        elif end in sentence_ends and not text[run.end() : run.end() + 1].islower():
            kind = Kind.SENTENCE
        else:
            kind = Kind.WORD
        cuts.append(Cut(end, resume, kind))
    for mark in _WIDE_SENTENCE_END.finditer(text):
        end = mark.end()
        if end < len(text) and end not in forbidden and not _STARTS_ENTITY.match(text, end):
            cuts.append(Cut(end, end, Kind.SENTENCE))
    cuts.sort(key=lambda cut: cut.end)
    return cuts


def trim(text: str) -> str:
    """``text`` without leading and trailing breaking whitespace, removing whole grapheme clusters only."""
    clusters = _GRAPHEME.findall(text)
    kept = [index for index, cluster in enumerate(clusters) if not _SPACE_RUN.fullmatch(cluster)]
    return "".join(clusters[kept[0] : kept[-1] + 1]) if kept else ""
