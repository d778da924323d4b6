"""X's weighted length: twitter-text ``parseTweet``, checked against its conformance files.

The text is normalised to NFC; each URL (with or without a scheme) weighs ``transformed_url_length``; with
emoji parsing (v3, X today) each emoji weighs ``default_weight``; every other code point weighs its range's
weight, else ``default_weight``. A post is valid when 0 < weighted length <= 280 and it has no U+FFFE,
U+FEFF or U+FFFF.

>>> twitter_weighted_length("Hi http://test.co")
26
>>> twitter_weighted_length("🙋🏽👨‍🎤"), twitter_weighted_length("🙋🏽👨‍🎤", config=TWITTER_V2)
(4, 9)
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from scheduler.length.emoji import EMOJI
from scheduler.length.graphemes import utf16_length
from scheduler.length.urls import find_urls

_INVALID_CHARACTERS = frozenset("\ufffe\ufeff\uffff")


@dataclass(frozen=True)
class TwitterConfig:
    """One twitter-text configuration file (``config/v2.json``, ``config/v3.json``)."""

    max_weighted_length: int = 280
    scale: int = 100
    default_weight: int = 200
    transformed_url_length: int = 23
    ranges: tuple[tuple[int, int, int], ...] = (
        (0, 4351, 100),
        (8192, 8205, 100),
        (8208, 8223, 100),
        (8242, 8247, 100),
    )
    emoji_parsing: bool = True

    def weight(self, char: str) -> int:
        """The weight of one code point; an astral one is weighed by its low surrogate, as in JavaScript."""
        code = ord(char)
        if code > 0xFFFF:
            code = 0xDC00 + ((code - 0x10000) & 0x3FF)
        for first, last, weight in self.ranges:
            if first <= code <= last:
                return weight
        return self.default_weight


TWITTER_V3 = TwitterConfig()
"""The current rules (emoji weigh 2 whatever their length)."""

TWITTER_V2 = TwitterConfig(emoji_parsing=False)
"""The 2017 rules: no emoji parsing, so ``👨‍👩‍👧‍👦`` weighs 4 code points x 2 plus 3 ZWJ x 1."""


@dataclass(frozen=True)
class TweetParse:
    """The fields of twitter-text's ``parseTweet`` result; ranges are inclusive UTF-16 indices."""

    weighted_length: int
    valid: bool
    permillage: int
    valid_range_start: int
    valid_range_end: int
    display_range_start: int
    display_range_end: int


def _entities(normalized: str, config: TwitterConfig) -> list[tuple[int, int, int]]:
    """``(start, end, weight)`` of each URL and emoji that ``parseTweet`` weighs whole, in the order its
    loop meets them: a URL wins over an emoji at the same index; one starting inside another is ignored."""
    found = {
        start: (end, config.transformed_url_length * config.scale)
        for start, end, _ in find_urls(normalized, without_protocol=True)
    }
    if config.emoji_parsing and not normalized.isascii():  # every emoji has a non-ASCII code point
        for match in EMOJI.finditer(normalized):
            found.setdefault(match.start(), (match.end(), config.default_weight))
    entities: list[tuple[int, int, int]] = []
    position = 0
    for start in sorted(found):
        if start >= position:
            end, weight = found[start]
            entities.append((start, end, weight))
            position = end
    return entities


@cache
def _range_patterns(config: TwitterConfig) -> tuple[tuple[re.Pattern[str], int], ...]:
    """One character class per distinct weight, over the BMP part of the ranges of that weight."""
    classes: dict[int, str] = {}
    for first, last, weight in config.ranges:
        if first <= 0xFFFF:
            span = f"{re.escape(chr(first))}-{re.escape(chr(min(last, 0xFFFF)))}"
            classes[weight] = classes.get(weight, "") + span
    return tuple((re.compile(f"[{body}]"), weight) for weight, body in classes.items())


@cache
def _ascii_weight(config: TwitterConfig) -> int | None:
    """The weight every ASCII code point has, if they all have the same (100 in v2 and v3)."""
    weights = {config.weight(chr(code)) for code in range(128)}
    return weights.pop() if len(weights) == 1 else None


def _plain_weight(segment: str, config: TwitterConfig) -> int:
    """The summed weights of code points outside URLs and emoji, counted a range at a time."""
    if segment.isascii() and (weight := _ascii_weight(config)) is not None:
        return weight * len(segment)
    total = config.default_weight * len(segment)
    for pattern, weight in _range_patterns(config):
        total += (weight - config.default_weight) * pattern.subn("", segment)[1]
    if any(first <= 0xDFFF and last >= 0xDC00 for first, last, _ in config.ranges):
        total += sum(config.weight(char) - config.default_weight for char in segment if ord(char) > 0xFFFF)
    return total


def twitter_weighted_length(text: str, config: TwitterConfig = TWITTER_V3) -> int:
    """The number X compares with 280 (twitter-text ``weightedLength``, already divided by the scale)."""
    normalized = text if text.isascii() else unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for start, end, weight in _entities(normalized, config):
        total += _plain_weight(normalized[position:start], config) + weight
        position = end
    total += _plain_weight(normalized[position:], config)
    return math.ceil(total / config.scale)


def parse_tweet(text: str, config: TwitterConfig = TWITTER_V3) -> TweetParse:
    """twitter-text's ``parseTweet``: the weighted length, whether X accepts ``text``, and the valid range."""
    normalized = unicodedata.normalize("NFC", text)
    pieces: list[tuple[str, int]] = []
    position = 0
    for start, end, weight in _entities(normalized, config):
        pieces += [(char, config.weight(char)) for char in normalized[position:start]]
        pieces.append((normalized[start:end], weight))
        position = end
    pieces += [(char, config.weight(char)) for char in normalized[position:]]
    limit = config.max_weighted_length * config.scale
    weighted = 0
    valid = True
    utf16_position = 0
    valid_display_index = 0
    for piece, weight in pieces:
        weighted += weight
        utf16_position += utf16_length(piece)
        valid = valid and piece[-1] not in _INVALID_CHARACTERS
        if valid and weighted <= limit:
            valid_display_index = utf16_position - 1
    length = weighted / config.scale
    text_units = utf16_length(text)
    return TweetParse(
        weighted_length=math.ceil(length),
        valid=valid and 0 < length <= config.max_weighted_length,
        permillage=math.floor(length / config.max_weighted_length * 1000),
        valid_range_start=0,
        valid_range_end=valid_display_index + text_units - utf16_position,
        display_range_start=0,
        display_range_end=max(text_units - 1, 0),
    )
