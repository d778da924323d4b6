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

from scheduler.clusters import clusters
from scheduler.length.emoji import contains_emoji, is_emoji_cluster
from scheduler.length.graphemes import grapheme_count, utf8_length, utf16_length
from scheduler.length.linkedin import linkedin_length
from scheduler.length.mastodon import mastodon_length
from scheduler.length.twitter import twitter_weighted_length
from scheduler.length.urls import find_urls

NO_PRACTICAL_LIMIT = 100_000
BLUESKY_MAX_BYTES = 3000
THREADS_MAX_LINKS = 5

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
        utf8_length(cluster) if is_emoji_cluster(cluster) else len(cluster) for cluster in clusters(text)
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

    def measure(self, text: str) -> tuple[int, list[str]]:
        """``(self.count(text), self.violations(text))``, counting ``text`` once."""
        problems: list[str] = []
        if self.refuses_empty and not text.strip():
            problems.append(f"empty text: {self.network} refuses a post without text")
        length = self.count(text)
        if length > self.limit:
            where = " (content warning included)" if self.spoiler_text else ""
            problems.append(f"{self.describe(length)}{where}, limit {self.limit}")
        if self.byte_limit is not None and (size := utf8_length(text)) > self.byte_limit:
            problems.append(f"{size} UTF-8 bytes, limit {self.byte_limit}")
        if self.network == "x" and _has_refused_character(text):
            problems.append("contains a character X refuses (U+FFFE, U+FEFF or U+FFFF)")
        if self.network == "threads" and (links := _distinct_links(text)) > THREADS_MAX_LINKS:
            problems.append(f"{links} different links, limit {THREADS_MAX_LINKS}")
        return length, problems

    def violations(self, text: str) -> list[str]:
        """Every limit ``text`` breaks, one readable line each (``[]`` when it fits)."""
        return self.measure(text)[1]

    def describe(self, length: int) -> str:
        """``length`` with its unit spelled out: ``"312 graphemes"``, ``"290 weighted characters"``."""
        emoji = " (emoji by UTF-8 bytes)" if self.network == "threads" else ""
        return f"{length} {_UNIT_NAMES.get(self.unit, self.unit)}{emoji}"

    def fits(self, text: str) -> bool:
        """Whether the network accepts ``text`` as it is: exactly ``not self.violations(text)``, checked
        cheapest first and without writing any message."""
        return (
            not (self.refuses_empty and not text.strip())
            and (self.byte_limit is None or utf8_length(text) <= self.byte_limit)
            and (self.network != "x" or not _has_refused_character(text))
            and self._within_limit(text)
            and (self.network != "threads" or _distinct_links(text) <= THREADS_MAX_LINKS)
        )

    def _within_limit(self, text: str) -> bool:
        """``self.count(text) <= self.limit``, without counting a text that has no more code points than the
        limit in a unit where a grapheme or character never counts more than its code points."""
        if len(text) <= self.limit and self._counts_at_most_code_points():
            return True
        return self.count(text) <= self.limit

    def _counts_at_most_code_points(self) -> bool:
        return self.network not in ("mastodon", "linkedin", "threads") and self.unit in (
            "graphemes",
            "characters",
        )

    def slice_reach(self, text: str) -> Callable[[int, str], int | None]:
        """A function ``reach(start, suffix)`` for the slices of one text, each followed by ``suffix``: the
        largest ``end`` such that ``text[start:end] + suffix`` fits for every ``end`` from ``start`` up to it
        and for none beyond it, or None when sizes alone cannot tell and each slice must be counted.

        Sizes tell when the text and the suffix are ASCII and every character of them counts one in every
        limit: code points, UTF-8 bytes, UTF-16 units, and graphemes without CR (CR LF is one grapheme). X
        (URLs weigh 23), Mastodon (URLs, mentions), LinkedIn (escapes) and Threads (links) always count.
        """
        if not (text.isascii() and self._counts_ascii_as_one(text)):
            return _unknown_reach
        most = self.limit if self.byte_limit is None else min(self.limit, self.byte_limit)

        def reach(start: int, suffix: str) -> int | None:
            if not (suffix.isascii() and self._counts_ascii_as_one(suffix)):
                return None
            if self.refuses_empty and not suffix.strip():
                return None
            return start + most - len(suffix)

        return reach

    def _counts_ascii_as_one(self, ascii_text: str) -> bool:
        """Whether each character of ``ascii_text`` counts one, in ``count`` and in every other limit."""
        if self.network in ("mastodon", "linkedin", "threads") or self.unit == "weighted":
            return False
        return self.unit != "graphemes" or "\r" not in ascii_text


def _has_refused_character(text: str) -> bool:
    """Whether ``text`` holds U+FFFE, U+FEFF or U+FFFF, which X refuses (never in ASCII)."""
    return not text.isascii() and not _X_REFUSED_CHARACTERS.isdisjoint(text)


def _unknown_reach(start: int, suffix: str) -> None:
    return None


def _distinct_links(text: str) -> int:
    return len({url for _, _, url in find_urls(text, without_protocol=True)})


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

    Telegram counts UTF-16 code units and Discord code points: neither unit is confirmed (docs/networks.md),
    and UTF-16 is the safer reading for Telegram, whose entity offsets are UTF-16. An unknown network gets a
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
