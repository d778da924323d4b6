"""LinkedIn's "little text" format: reserved characters must be escaped, and the escapes count toward 3000.

An unescaped reserved character can make LinkedIn silently truncate the post at that point (docs/networks.md,
LinkedIn: little text), so the adapter sends ``escape_little_text(text)`` and the length rule counts that
escaped text.

>>> escape_little_text("C# (and F#) @ 50% off_now")
'C\\\\# \\\\(and F\\\\#\\\\) \\\\@ 50% off\\\\_now'
"""

from __future__ import annotations

import re

RESERVED_CHARACTERS = "\\|{}@[]()<>#*_~"
"""The characters little text reserves, each sent as ``\\`` + the character."""

_RESERVED = re.compile("[" + re.escape(RESERVED_CHARACTERS) + "]")


def escape_little_text(text: str) -> str:
    """``text`` with every reserved little-text character escaped by a backslash."""
    return _RESERVED.sub(lambda match: "\\" + match[0], text)


def linkedin_length(text: str) -> int:
    """Characters (code points) of the escaped text: what LinkedIn receives as ``commentary``.

    The unit LinkedIn counts in is unconfirmed (docs/networks.md, LinkedIn: length); code points is the usual
    reading.
    """
    return len(escape_little_text(text))
