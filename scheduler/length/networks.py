"""Each network's length rules: the unit, the limit, and every other limit the server enforces on a text.

>>> rules = rules_for("bluesky")
>>> rules.count("👨‍👩‍👧‍👦" * 121), rules.violations("👨‍👩‍👧‍👦" * 121)
(121, ['3025 UTF-8 bytes, limit 3000'])
>>> rules_for("mastodon", limit=1000, spoiler_text="CW: war").limit
1000
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex

from scheduler.length.emoji import contains_emoji, is_emoji_cluster
from scheduler.length.graphemes import grapheme_count, utf8_length, utf16_length
from scheduler.length.linkedin import linkedin_length
from scheduler.length.mastodon import mastodon_length
from scheduler.length.twitter import twitter_weighted_length
from scheduler.length.urls import find_urls

NO_PRACTICAL_LIMIT = 100_000
BLUESKY_MAX_BYTES = 3000
THREADS_MAX_LINKS = 5

_GRAPHEME = regex.compile(r"\X")
_X_REFUSED_CHARACTERS = frozenset("\ufffe\ufeff\uffff")

_UNIT_NAMES = {
    "weighted": "weighted characters",
    "graphemes": "graphemes",
    "characters": "characters",
    "utf16": "UTF-16 code units",
    "utf8": "UTF-8 bytes",
}


def threads_length(text: str) -> int:
    """Threads: characters, each emoji counting as its UTF-8 bytes ("Emojis are counted as the number of
    UTF-8 bytes", Meta). "Characters" is read as code points, never fewer than grapheme clusters."""
    if not contains_emoji(text):
        return len(text)
    return sum(
        utf8_length(cluster) if is_emoji_cluster(cluster) else len(cluster)
        for cluster in _GRAPHEME.findall(text)
    )


_UNIT_COUNTERS: dict[str, Callable[[str], int]] = {
    "weighted": twitter_weighted_length,
    "graphemes": grapheme_count,
    "characters": len,
    "utf16": utf16_length,
    "utf8": utf8_length,
}

_REFUSE_EMPTY = frozenset(
    {"x", "mastodon", "threads", "linkedin", "telegram", "discord", "slack", "facebook"}
)


@dataclass(frozen=True)
class LengthRules:
    """How one network measures a post, and whether a text fits.

    ``limit`` is the main limit in ``unit``: ``weighted`` (X's twitter-text weights), ``graphemes``
    (extended grapheme clusters), ``characters`` (code points), ``utf16`` (UTF-16 code units) or ``utf8``
    (bytes). ``count`` measures as that network's server does, with Mastodon's rewriting of URLs and
    mentions and its content warning, LinkedIn's little-text escapes (the text is counted after
    escaping) and Threads' emoji counted by their UTF-8 bytes. ``byte_limit`` is a second limit in UTF-8
    bytes (Bluesky). Build one with :func:`rules_for` rather than by hand.
    """

    network: str
    limit: int
    unit: str
    spoiler_text: str = ""
    byte_limit: int | None = None
    refuses_empty: bool = False

    def count(self, text: str) -> int:
        """The length of ``text`` as the network's server counts it (X: the number compared with 280)."""
        if self.network == "mastodon":
            return mastodon_length(text, spoiler_text=self.spoiler_text)
        if self.network == "linkedin":
            return linkedin_length(text)
        if self.network == "threads":
            return threads_length(text)
        return _UNIT_COUNTERS.get(self.unit, len)(text)

    def violations(self, text: str) -> list[str]:
        """Every limit ``text`` breaks, one readable line each (``[]`` when it fits)."""
        problems: list[str] = []
        if self.refuses_empty and not text.strip():
            problems.append(f"empty text: {self.network} refuses a post without text")
        length = self.count(text)
        if length > self.limit:
            where = " (content warning included)" if self.spoiler_text else ""
            problems.append(f"{self.describe(length)}{where}, limit {self.limit}")
        if self.byte_limit is not None and (size := utf8_length(text)) > self.byte_limit:
            problems.append(f"{size} UTF-8 bytes, limit {self.byte_limit}")
        if self.network == "x" and not _X_REFUSED_CHARACTERS.isdisjoint(text):
            problems.append("contains a character X refuses (U+FFFE, U+FEFF or U+FFFF)")
        if self.network == "threads":
            links = {url for _, _, url in find_urls(text, without_protocol=True)}
            if len(links) > THREADS_MAX_LINKS:
                problems.append(f"{len(links)} different links, limit {THREADS_MAX_LINKS}")
        return problems

    def describe(self, length: int) -> str:
        """``length`` with its unit spelled out: ``"312 graphemes"``, ``"290 weighted characters"``."""
        emoji = " (emoji by UTF-8 bytes)" if self.network == "threads" else ""
        return f"{length} {_UNIT_NAMES.get(self.unit, self.unit)}{emoji}"

    def fits(self, text: str) -> bool:
        """Whether the network accepts ``text`` as it is."""
        return not self.violations(text)


_DEFAULTS: dict[str, tuple[int, str]] = {
    "x": (280, "weighted"),
    "mastodon": (500, "graphemes"),
    "bluesky": (300, "graphemes"),
    "threads": (500, "characters"),
    "linkedin": (3000, "characters"),
    "telegram": (4096, "utf16"),
    "discord": (2000, "characters"),
    "slack": (40_000, "characters"),
    "facebook": (63_206, "characters"),
    "file": (NO_PRACTICAL_LIMIT, "characters"),
    "webhook": (NO_PRACTICAL_LIMIT, "characters"),
}


def rules_for(network: str, *, limit: int | None = None, spoiler_text: str = "") -> LengthRules:
    """The length rules of ``network``, optionally with another ``limit`` (a Mastodon instance's
    ``max_characters``, a channel's override) and Mastodon's content warning, which counts toward the limit.

    Telegram counts UTF-16 code units and Discord code points: neither unit is confirmed (NETWORKS.md), and
    UTF-16 is the safer reading for Telegram, whose entity offsets are UTF-16. An unknown network gets a
    ``characters`` rule with ``limit`` (or no practical limit) rather than an error.
    """
    default_limit, unit = _DEFAULTS.get(network, (NO_PRACTICAL_LIMIT, "characters"))
    return LengthRules(
        network=network,
        limit=default_limit if limit is None else limit,
        unit=unit,
        spoiler_text=spoiler_text if network == "mastodon" else "",
        byte_limit=BLUESKY_MAX_BYTES if network == "bluesky" else None,
        refuses_empty=network in _REFUSE_EMPTY,
    )
