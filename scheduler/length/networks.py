"""Length rules: how one network measures a text, and every limit its server enforces on it.

A network declares its rules in its adapter class (:meth:`scheduler.adapters.base.Adapter.length_rules`);
nothing here knows a network by name (:func:`scheduler.adapters.registry.rules_for` asks the installed
adapter). Bluesky's, for instance::

>>> rules = LengthRules("bluesky", limit=300, unit="graphemes", byte_limit=3000)
>>> rules.count("👨‍👩‍👧‍👦" * 121), rules.violations("👨‍👩‍👧‍👦" * 121)
(121, ['3025 UTF-8 bytes, limit 3000'])
>>> LengthRules("mynet", limit=10, unit="graphemes").violations("e\u0301" * 11)
['11 graphemes, limit 10']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, replace
from typing import Literal

from scheduler.length.graphemes import grapheme_count, utf8_length, utf16_length
from scheduler.length.parts import part_limits
from scheduler.length.twitter import twitter_weighted_length
from scheduler.length.urls import find_urls

NO_PRACTICAL_LIMIT = 100_000

Unit = Literal["weighted", "graphemes", "characters", "utf16", "utf8"]
"""What a limit counts: X's twitter-text weights, extended grapheme clusters, code points, UTF-16 code units
or UTF-8 bytes."""

_UNIT_NAMES: dict[str, str] = {
    "weighted": "weighted characters",
    "graphemes": "graphemes",
    "characters": "characters",
    "utf16": "UTF-16 code units",
    "utf8": "UTF-8 bytes",
}

_UNIT_COUNTERS: dict[str, Callable[[str], int]] = {
    "weighted": twitter_weighted_length,
    "graphemes": grapheme_count,
    "characters": len,
    "utf16": utf16_length,
    "utf8": utf8_length,
}


@dataclass(frozen=True)
class LengthRules:
    """How one network measures a post, and whether a text fits.

    ``limit`` is the main limit in ``unit`` (:data:`Unit`). ``counter``, when set, counts instead of the
    unit's plain count, as the network's server does (Mastodon's rewriting of URLs and mentions and its
    content warning, LinkedIn's little text counted after rewriting, Threads' emoji by their UTF-8 bytes);
    ``unit_note`` then says how in messages (``" (emoji by UTF-8 bytes)"``). ``spoiler_text`` is the content
    warning ``counter`` includes, only named in messages. The other limits: ``byte_limit`` in UTF-8 bytes
    (Bluesky), ``refuses_empty`` (a text of blanks only), ``max_links`` (distinct links, Threads) and
    ``refused_characters`` (each refused anywhere in the text, X). Each adapter builds its own in
    :meth:`~scheduler.adapters.base.Adapter.length_rules`.

    ``first_limit``, when set, is the limit of the first part of a post instead of ``limit`` (Telegram: the
    first part is a photo's caption, at most 1024, the replies below it 4096). Every method here measures
    against ``limit``; :meth:`for_part` gives the rules of one part::

        >>> rules = LengthRules("telegram", limit=4096, unit="utf16", first_limit=1024)
        >>> rules.for_part(0).limit, rules.for_part(1).limit, rules.limits(3)
        (1024, 4096, (1024, 4096, 4096))
    """

    network: str
    limit: int
    unit: Unit = "characters"
    _: KW_ONLY
    counter: Callable[[str], int] | None = None
    unit_note: str = ""
    spoiler_text: str = ""
    byte_limit: int | None = None
    refuses_empty: bool = False
    max_links: int | None = None
    refused_characters: str = ""
    first_limit: int | None = None

    def for_part(self, index: int) -> LengthRules:
        """The rules of part ``index`` (0 is the first) of a post: ``first_limit`` for the first part when
        set, else ``limit``. These rules are ``self`` when every part has the same limit."""
        if self.first_limit is None:
            return self
        if index == 0:
            return replace(self, limit=self.first_limit, first_limit=None)
        return replace(self, first_limit=None)

    def limits(self, parts: int) -> tuple[int, ...]:
        """The limit of each of ``parts`` parts of a post, first part first."""
        return part_limits(self.limit, self.first_limit, parts)

    def count(self, text: str) -> int:
        """The length of ``text`` as the network's server counts it (X: the number compared with 280)."""
        if self.counter is not None:
            return self.counter(text)
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
        if self._has_refused_character(text):
            problems.append(f"contains a character {self.network} refuses ({self._refused_names()})")
        if self.max_links is not None and (links := _distinct_links(text)) > self.max_links:
            problems.append(f"{links} different links, limit {self.max_links}")
        return length, problems

    def violations(self, text: str) -> list[str]:
        """Every limit ``text`` breaks, one readable line each (``[]`` when it fits)."""
        return self.measure(text)[1]

    def describe(self, length: int) -> str:
        """``length`` with its unit spelled out: ``"312 graphemes"``, ``"290 weighted characters"``."""
        return f"{length} {_UNIT_NAMES.get(self.unit, self.unit)}{self.unit_note}"

    def fits(self, text: str) -> bool:
        """Whether the network accepts ``text`` as it is: exactly ``not self.violations(text)``, checked
        cheapest first and without writing any message."""
        return (
            not (self.refuses_empty and not text.strip())
            and (self.byte_limit is None or utf8_length(text) <= self.byte_limit)
            and not self._has_refused_character(text)
            and self._within_limit(text)
            and (self.max_links is None or _distinct_links(text) <= self.max_links)
        )

    def _has_refused_character(self, text: str) -> bool:
        if not self.refused_characters or (text.isascii() and not self._refuses_ascii()):
            return False
        return not set(self.refused_characters).isdisjoint(text)

    def _refuses_ascii(self) -> bool:
        return any(character.isascii() for character in self.refused_characters)

    def _refused_names(self) -> str:
        names = [f"U+{ord(character):04X}" for character in self.refused_characters]
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def _within_limit(self, text: str) -> bool:
        """``self.count(text) <= self.limit``, without counting a text that has no more code points than the
        limit in a unit where a grapheme or character never counts more than its code points."""
        if len(text) <= self.limit and self._counts_at_most_code_points():
            return True
        return self.count(text) <= self.limit

    def _counts_at_most_code_points(self) -> bool:
        return self.counter is None and self.unit in ("graphemes", "characters")

    def slice_reach(self, text: str) -> Callable[[int, str], int | None]:
        """A function ``reach(start, suffix)`` for the slices of one text, each followed by ``suffix``: the
        largest ``end`` such that ``text[start:end] + suffix`` fits for every ``end`` from ``start`` up to it
        and for none beyond it, or None when sizes alone cannot tell and each slice must be counted.

        Sizes tell when the text and the suffix are ASCII and every character of them counts one in every
        limit: code points, UTF-8 bytes, UTF-16 units, and graphemes without CR (CR LF is one grapheme). A
        ``counter`` (URLs, mentions, escapes), the ``weighted`` unit (URLs weigh 23), ``max_links`` and ASCII
        ``refused_characters`` always count.
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
        if self.counter is not None or self.unit == "weighted" or self.max_links is not None:
            return False
        if self._refuses_ascii():
            return False
        return self.unit != "graphemes" or "\r" not in ascii_text


def _unknown_reach(start: int, suffix: str) -> None:
    return None


def _distinct_links(text: str) -> int:
    return len({url for _, _, url in find_urls(text, without_protocol=True)})
