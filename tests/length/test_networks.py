"""Each network's LengthRules: limits, units and the problems reported."""

from __future__ import annotations

import pytest

from scheduler.adapters.registry import rules_for
from scheduler.errors import UnknownNetwork
from scheduler.length import LengthRules

FAMILY = "👨‍👩‍👧‍👦"


@pytest.mark.parametrize(
    ("network", "limit", "unit"),
    [
        ("x", 280, "weighted"),
        ("mastodon", 500, "graphemes"),
        ("bluesky", 300, "graphemes"),
        ("threads", 500, "characters"),
        ("linkedin", 3000, "characters"),
        ("telegram", 4096, "utf16"),
        ("discord", 2000, "characters"),
        ("slack", 40_000, "characters"),
        ("facebook", 63_206, "characters"),
        ("file", 100_000, "characters"),
        ("webhook", 100_000, "characters"),
    ],
)
def test_defaults(network: str, limit: int, unit: str) -> None:
    rules = rules_for(network)
    assert (rules.network, rules.limit, rules.unit) == (network, limit, unit)
    assert rules.fits("hello")


def test_limit_override() -> None:
    assert rules_for("mastodon", limit=11_000).limit == 11_000
    with pytest.raises(UnknownNetwork, match="installed adapters: bluesky, discord"):
        rules_for("myspace", limit=42)
    assert not rules_for("discord", limit=3).fits("four")


def test_x_counts_urls_as_23_and_emoji_as_2() -> None:
    rules = rules_for("x")
    assert rules.count("Hi http://test.co") == 26
    assert rules.count("example.com/" + "a" * 500) == 23
    assert rules.count(FAMILY * 140) == 280
    assert rules.fits(FAMILY * 140)
    assert rules.violations(FAMILY * 141) == ["282 weighted characters, limit 280"]
    assert rules.count("故人西辞") == 8


def test_x_refuses_empty_and_invalid_characters() -> None:
    rules = rules_for("x")
    assert rules.violations("") == ["empty text: x refuses a post without text"]
    assert rules.violations("abc\ufffe") == ["contains a character x refuses (U+FFFE, U+FEFF or U+FFFF)"]


def test_bluesky_has_two_limits() -> None:
    rules = rules_for("bluesky")
    assert rules.fits("a" * 300)
    assert rules.violations("a" * 301) == ["301 graphemes, limit 300"]
    assert rules.fits(FAMILY * 120)
    assert rules.violations(FAMILY * 121) == ["3025 UTF-8 bytes, limit 3000"]
    assert rules.violations(FAMILY * 301) == ["301 graphemes, limit 300", "7525 UTF-8 bytes, limit 3000"]
    assert rules.count("https://example.com/" + "a" * 100) == 120
    assert rules.fits("")


def test_mastodon_counts_the_content_warning() -> None:
    body = "x" * 495
    assert rules_for("mastodon").fits(body)
    rules = rules_for("mastodon", spoiler_text="CW: war")
    assert rules.count(body) == 502
    assert rules.violations(body) == ["502 graphemes (content warning included), limit 500"]


def test_mastodon_counts_urls_and_mentions_as_the_server_does() -> None:
    rules = rules_for("mastodon")
    text = "@alice@social.example " + "https://example.com/" + "p" * 600
    assert rules.count(text) == len("@alice ") + 23
    assert rules.fits(text)
    assert rules.violations("   ") == ["empty text: mastodon refuses a post without text"]


def test_spoiler_text_is_mastodon_only() -> None:
    assert rules_for("bluesky", spoiler_text="CW").count("abc") == 3


def test_threads() -> None:
    rules = rules_for("threads")
    assert rules.count("😷" * 125) == 500
    assert rules.violations("😷" * 126) == ["504 characters (emoji by UTF-8 bytes), limit 500"]
    links = " ".join(f"https://example{n}.com" for n in range(6))
    assert rules.violations(links) == ["6 different links, limit 5"]


def test_linkedin_counts_after_escaping_and_writing_hashtags() -> None:
    rules = rules_for("linkedin")
    assert rules.count("#tag") == len("{hashtag|\\#|tag}") == 16
    assert rules.count("C#") == len("C\\#") == 3
    assert rules.fits("#" * 1500)
    assert rules.violations("#" * 1501) == ["3002 characters, limit 3000"]


def test_telegram_counts_utf16_and_discord_code_points() -> None:
    assert rules_for("telegram").count("😷") == 2
    assert rules_for("discord").count("😷") == 1
    assert rules_for("telegram").violations("") == ["empty text: telegram refuses a post without text"]
    assert rules_for("telegram").violations("😷" * 2049) == ["4098 UTF-16 code units, limit 4096"]


def test_file_and_webhook_accept_anything_reasonable() -> None:
    assert rules_for("file").fits("")
    assert rules_for("webhook").fits("x" * 100_000)
    assert not rules_for("webhook").fits("x" * 100_001)


def test_rules_can_be_built_by_hand() -> None:
    rules = LengthRules("bluesky", 10, "graphemes")
    assert rules.count(FAMILY * 3) == 3
    assert rules.fits(FAMILY * 10)
    assert rules.describe(12) == "12 graphemes"


def test_rules_a_third_party_network_declares_hold_as_for_the_built_in_ones() -> None:
    """Every limit is a field: a network tagcast does not ship gets the same checks and the same fitting."""
    rules = LengthRules("pigeon", 20, "characters", refused_characters="~\ufffe", max_links=1)
    assert rules.violations("a~b") == ["contains a character pigeon refuses (U+007E or U+FFFE)"]
    assert rules.violations("x.org y.org") == ["2 different links, limit 1"]
    assert rules.fits("plain ascii text") and not rules.fits("a~b")
    assert rules.slice_reach("plain ascii text")(0, "") is None  # a refused ASCII character: count each slice
    counted = LengthRules(
        "pigeon", 5, "characters", counter=lambda text: 2 * len(text), unit_note=" (doubled)"
    )
    assert counted.violations("abc") == ["6 characters (doubled), limit 5"]
    assert counted.slice_reach("abc")(0, "") is None


def _doubled(text: str) -> int:
    return 2 * len(text)
