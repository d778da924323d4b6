"""Threads' count: characters, each emoji counting as its UTF-8 bytes.

>>> threads_length("hi 😷")
7
"""

from __future__ import annotations

from scheduler.clusters import clusters
from scheduler.length.emoji import contains_emoji, is_emoji_cluster
from scheduler.length.graphemes import utf8_length


def threads_length(text: str) -> int:
    """Threads: characters, each emoji counting as its UTF-8 bytes ("Emojis are counted as the number of
    UTF-8 bytes", Meta). "Characters" is read as code points, never fewer than grapheme clusters."""
    if not contains_emoji(text):
        return len(text)
    return sum(
        utf8_length(cluster) if is_emoji_cluster(cluster) else len(cluster) for cluster in clusters(text)
    )
