"""Count a post exactly as each network's server does, and make it fit.

::

    graphemes  grapheme clusters, UTF-8 / UTF-16 sizes
    urls       twitter-text URL extraction (X and Mastodon dialects)     tlds   the TLD list
    links      Bluesky's link detection                                   emoji  emoji sequences
    twitter    X's weighted length (twitter-text parseTweet, v2 and v3)
    mastodon   Mastodon's count (URLs 23, @user@domain as @user, content warning)
    linkedin   little text: escapes and hashtags, counted as sent     threads  emoji by UTF-8 bytes
    networks   LengthRules (each adapter declares its own: scheduler.adapters.registry.rules_for())
    parts      the limit of each part of a post (the first may have its own)
    cuts       where a post may be cut                                    fit    shorten or split a post

>>> rules = LengthRules("x", limit=280, unit="weighted")
>>> rules.count("New post https://example.com/a/very/long/path/that/x/shortens"), rules.limit
(32, 280)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.lazy import lazy_names

if TYPE_CHECKING:
    from scheduler.length.fit import Fitted
    from scheduler.length.graphemes import grapheme_count, utf8_length, utf16_length
    from scheduler.length.linkedin import escape_little_text, little_text
    from scheduler.length.networks import LengthRules
    from scheduler.length.twitter import (
        TWITTER_V2,
        TWITTER_V3,
        TwitterConfig,
        parse_tweet,
        twitter_weighted_length,
    )
    from scheduler.length.urls import find_urls

_FROM = {
    "Fitted": "scheduler.length.fit",
    "grapheme_count": "scheduler.length.graphemes",
    "utf8_length": "scheduler.length.graphemes",
    "utf16_length": "scheduler.length.graphemes",
    "escape_little_text": "scheduler.length.linkedin",
    "little_text": "scheduler.length.linkedin",
    "LengthRules": "scheduler.length.networks",
    "TWITTER_V2": "scheduler.length.twitter",
    "TWITTER_V3": "scheduler.length.twitter",
    "TwitterConfig": "scheduler.length.twitter",
    "parse_tweet": "scheduler.length.twitter",
    "twitter_weighted_length": "scheduler.length.twitter",
    "find_urls": "scheduler.length.urls",
}
"""The names of this package, each imported when first read: they bring the ``regex`` library and large
tables, and a light module of the package (:mod:`scheduler.length.parts`) is read by the store's quick
commands. ``fit`` is imported from :mod:`scheduler.length.fit`: a name of the package that is also one of its
modules would be that module once the module is imported."""

__getattr__ = lazy_names(__name__, _FROM, globals())

__all__ = [
    "TWITTER_V2",
    "TWITTER_V3",
    "Fitted",
    "LengthRules",
    "TwitterConfig",
    "escape_little_text",
    "find_urls",
    "grapheme_count",
    "little_text",
    "parse_tweet",
    "twitter_weighted_length",
    "utf8_length",
    "utf16_length",
]
