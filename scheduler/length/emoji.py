"""Recognise emoji the way X (twemoji) and Meta count them, from Unicode's emoji properties.

One emoji is a keycap (``1️⃣``), a flag (two regional indicators or a tag sequence such as England's), or a
pictograph with its skin tone or presentation selector, joined by ZWJ to further pictographs (``👨‍👩‍👧‍👦``).
A pictograph followed by U+FE0E asks for text presentation and is not an emoji; ``©`` and ``®`` are emoji
only with U+FE0F, as in twemoji. A stray U+FE0F counts as an emoji of its own, as in twemoji.
"""

from __future__ import annotations

import regex

_TEXT_DEFAULT = r"\u00A9\u00AE"
_PICTOGRAPH = (
    rf"(?:[{_TEXT_DEFAULT}]\uFE0F"
    rf"|(?![{_TEXT_DEFAULT}])\p{{Extended_Pictographic}}(?:\p{{Emoji_Modifier}}|\uFE0F|(?!\uFE0E)))"
)

EMOJI = regex.compile(
    r"[#*0-9]\uFE0F?\u20E3"
    r"|\p{Regional_Indicator}{2}"
    r"|\U0001F3F4[\U000E0020-\U000E007E]+\U000E007F"
    rf"|{_PICTOGRAPH}(?:\u200D{_PICTOGRAPH})*"
    r"|\uFE0F"
)
"""Matches one emoji (see the module docstring); ``EMOJI.finditer(text)`` lists them."""

_EMOJI_PART = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20E3")


def is_emoji_cluster(cluster: str) -> bool:
    """Whether a grapheme cluster is (or contains) an emoji: a pictograph, a flag or a keycap."""
    return not cluster.isascii() and _EMOJI_PART.search(cluster) is not None


def contains_emoji(text: str) -> bool:
    """Whether any grapheme cluster of ``text`` is an emoji (see :func:`is_emoji_cluster`)."""
    return is_emoji_cluster(text)
