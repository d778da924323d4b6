"""Hashtags written in an article's text: inline ones stay in it, a closing line of tags is moved out."""

from __future__ import annotations

import itertools

import regex

from scheduler.hashtags import find_hashtags

_ONLY_PUNCTUATION = regex.compile(r"[\s\p{P}]*")


def tag_line_tags(line: str) -> list[str] | None:
    """The tags of ``line`` when it is made only of hashtags (and separators), else None.

    >>> tag_line_tags("#KhalkhinGol, #History.")
    ['KhalkhinGol', 'History']
    >>> tag_line_tags("Read about #KhalkhinGol") is None
    True
    """
    matches = find_hashtags(line)
    if not matches:
        return None
    rest = "".join(line[a.end : b.start] for a, b in itertools.pairwise(matches))
    rest += line[: matches[0].start] + line[matches[-1].end :]
    return [match.tag for match in matches] if _ONLY_PUNCTUATION.fullmatch(rest) else None


def split_closing_tags(body: str) -> tuple[str, list[str]]:
    """``body`` without its closing lines of hashtags, and the hashtags of those lines."""
    lines = body.strip().splitlines()
    closing: list[str] = []
    while lines:
        if not lines[-1].strip():
            lines.pop()
            continue
        tags = tag_line_tags(lines[-1])
        if tags is None:
            break
        closing = tags + closing
        lines.pop()
    return "\n".join(lines).strip(), closing


def split_body_hashtags(body: str) -> tuple[str, list[str]]:
    """``body`` without its closing lines of hashtags, and every hashtag of ``body`` in text order."""
    text, closing = split_closing_tags(body)
    return text, [match.tag for match in find_hashtags(text)] + closing
