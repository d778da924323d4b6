"""Find hashtags in text exactly as Bluesky does, and normalize tag lists (aliases, blocklist, dedupe, limit).

Detection follows the reference ``TAG_REGEX`` of the Bluesky API (docs/networks.md, Bluesky: facets)::

    >>> [m.tag for m in find_hashtags("Read this #KhalkhinGol! and a#b, #123 #ノモンハン事件")]
    ['KhalkhinGol', 'ノモンハン事件']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import regex

from scheduler.clusters import grapheme_count
from scheduler.models import Hashtag

MAX_TAG_GRAPHEMES = 64

_JS_WHITESPACE = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_TERMINATORS = r"\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG_CHAR = rf"[^{_JS_WHITESPACE}{_TERMINATORS}]"
_SIGNIFICANT_CHAR = rf"[^0-9{_JS_WHITESPACE}\p{{P}}{_TERMINATORS}]"

_TAG_REGEX = regex.compile(
    rf"(?:^|[{_JS_WHITESPACE}])(?P<hash>[#＃])(?P<tag>(?!\ufe0f){_TAG_CHAR}*?{_SIGNIFICANT_CHAR}+{_TAG_CHAR}*)?"
)
_LEADING_PUNCTUATION = regex.compile(r"\p{P}+")
"""Matched on the reversed tag: an anchored match is linear, where a search for punctuation at the end of the
tag would start again at every character of a long run of punctuation (``#a!!!...!a``: quadratic)."""
_HASH_MARKS = "#＃"


@dataclass(frozen=True, slots=True)
class TagMatch:
    """One hashtag found in a text: ``text[start]`` is the ``#``, ``text[start + 1:end] == tag``."""

    start: int
    end: int
    tag: str


def find_hashtags(text: str) -> list[TagMatch]:
    """Every hashtag in ``text``, in order, with code-point offsets (Bluesky's reference rules).

    A hashtag starts at a ``#`` or ``＃`` that starts the text or follows whitespace, so the search starts
    one character before the first of them (none: no hashtag).
    """
    first = _first_hash(text)
    return [] if first < 0 else _hashtags_from(text, max(first - 1, 0))


def _hashtags_from(text: str, position: int) -> list[TagMatch]:
    """The hashtags of ``text`` that start at or after ``position``."""
    found: list[TagMatch] = []
    for match in _TAG_REGEX.finditer(text, position):
        raw = match.group("tag")
        if not raw:
            continue
        tag = _without_trailing_punctuation(raw)
        if not tag or grapheme_count(tag) > MAX_TAG_GRAPHEMES:
            continue
        start = match.start("hash")
        found.append(TagMatch(start=start, end=start + 1 + len(tag), tag=tag))
    return found


def _without_trailing_punctuation(tag: str) -> str:
    trailing = _LEADING_PUNCTUATION.match(tag[::-1])
    return tag[: len(tag) - trailing.end()] if trailing else tag


def _first_hash(text: str) -> int:
    """The index of the first ``#`` or ``＃`` in ``text``, -1 if there is none."""
    ascii_mark, wide_mark = text.find("#"), text.find("＃")
    if ascii_mark < 0 or wide_mark < 0:
        return max(ascii_mark, wide_mark)
    return min(ascii_mark, wide_mark)


def is_hashtag(tag: str) -> bool:
    """Whether ``#tag`` is exactly one valid hashtag (``tag`` given without the ``#``)."""
    matches = find_hashtags("#" + strip_hash(tag))
    return len(matches) == 1 and matches[0].tag == strip_hash(tag)


def strip_hash(tag: str) -> str:
    """``tag`` without surrounding whitespace and leading ``#``/``＃`` marks."""
    return tag.strip().lstrip(_HASH_MARKS)


def _spelling_rank(spelling: str) -> int:
    has_upper = any(char.isupper() for char in spelling)
    has_lower = any(char.islower() for char in spelling)
    return 1 if has_upper and has_lower else 0


_ALIAS_RANK = 2


def normalize_hashtags(
    tags: Iterable[str],
    *,
    aliases: Mapping[str, str] = {},
    blocklist: Iterable[str] = (),
) -> tuple[Hashtag, ...]:
    """Apply aliases, drop blocklisted tags and de-duplicate case-insensitively.

    The order is the order in which each key is first seen. The spelling kept for a key is an alias target's
    spelling if any, else the first mixed-case spelling (``KhalkhinGol`` beats ``khalkhingol``), else the
    first one seen::

        >>> normalize_hashtags(["#ww2", "khalkhingol", "KhalkhinGol", "spam"],
        ...                    aliases={"WW2": "WorldWarII"}, blocklist=["SPAM"])
        (Hashtag(text='WorldWarII'), Hashtag(text='KhalkhinGol'))
    """
    alias_targets = {strip_hash(key).casefold(): strip_hash(target) for key, target in aliases.items()}
    blocked = {strip_hash(tag).casefold() for tag in blocklist}
    chosen: dict[str, tuple[int, str]] = {}
    for written in tags:
        spelling = strip_hash(written)
        if not spelling or spelling.casefold() in blocked:
            continue
        rank = _spelling_rank(spelling)
        target = alias_targets.get(spelling.casefold())
        if target is not None:
            spelling, rank = target, _ALIAS_RANK
            if not spelling or spelling.casefold() in blocked:
                continue
        key = spelling.casefold()
        current = chosen.get(key)
        if current is None or rank > current[0]:
            chosen[key] = (rank, spelling)
    return tuple(Hashtag(spelling) for _, spelling in chosen.values())


def limit_hashtags(tags: Iterable[Hashtag], maximum: int | None) -> tuple[Hashtag, ...]:
    """The first ``maximum`` tags (all of them when ``maximum`` is None)."""
    kept = tuple(tags)
    if maximum is None:
        return kept
    if maximum < 0:
        raise ValueError(f"maximum must be 0 or more, not {maximum}")
    return kept[:maximum]
