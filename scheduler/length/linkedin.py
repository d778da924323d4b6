"""LinkedIn's "little text" format: reserved characters are escaped, hashtags written as LinkedIn links them,
and the 3000-character limit counts the commentary as sent.

An unescaped reserved character can make LinkedIn silently truncate the post at that point (docs/networks.md,
LinkedIn: little text), so the adapter sends ``little_text(text)``: every reserved character escaped by a
backslash, and each hashtag (found by the rules of :func:`scheduler.hashtags.find_hashtags`) written as the
template ``{hashtag|\\#|Tag}``, which LinkedIn shows as a linked ``#Tag``. The length rule counts that text.

>>> escape_little_text("C# (and F#) @ 50% off_now")
'C\\\\# \\\\(and F\\\\#\\\\) \\\\@ 50% off\\\\_now'
>>> print(little_text("Read it (now) #History #Tag_1"))
Read it \\(now\\) {hashtag|\\#|History} {hashtag|\\#|Tag\\_1}
>>> linkedin_length("#History"), len("#History")
(20, 8)
"""

from __future__ import annotations

import re

from scheduler.hashtags import find_hashtags

RESERVED_CHARACTERS = "\\|{}@[]()<>#*_~"
"""The characters little text reserves, each sent as ``\\`` + the character."""

HASHTAG_TEMPLATE = "{{hashtag|\\#|{tag}}}"
"""How little text writes a hashtag: ``{hashtag|\\#|Tag}`` (the tag escaped)."""

_RESERVED = re.compile("[" + re.escape(RESERVED_CHARACTERS) + "]")


def escape_little_text(text: str) -> str:
    """``text`` with every reserved little-text character escaped by a backslash."""
    return _RESERVED.sub(lambda match: "\\" + match[0], text)


def little_text(text: str) -> str:
    """``text`` as LinkedIn's ``commentary``: hashtags as ``{hashtag|\\#|Tag}``, everything else escaped."""
    pieces: list[str] = []
    position = 0
    for tag in find_hashtags(text):
        pieces.append(escape_little_text(text[position : tag.start]))
        pieces.append(HASHTAG_TEMPLATE.format(tag=escape_little_text(tag.tag)))
        position = tag.end
    pieces.append(escape_little_text(text[position:]))
    return "".join(pieces)


def linkedin_length(text: str) -> int:
    """Characters (code points) of :func:`little_text`: what LinkedIn receives as ``commentary``.

    The unit LinkedIn counts in, and whether its markup counts, are unconfirmed (docs/networks.md, LinkedIn:
    length): counting code points of the text as sent is the reading that never lets a post over the limit.
    """
    return len(little_text(text))
