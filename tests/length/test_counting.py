"""The counting units and the per-network counters, on hand-checked examples."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.length import escape_little_text, find_urls, grapheme_count, utf8_length, utf16_length
from scheduler.length.emoji import EMOJI, is_emoji_cluster
from scheduler.length.graphemes import inside_clusters
from scheduler.length.links import find_bluesky_links
from scheduler.length.mastodon import countable_text, mastodon_length
from scheduler.length.threads import threads_length
from scheduler.length.urls import MASTODON_URLS

FAMILY = "👨‍👩‍👧‍👦"


@pytest.mark.parametrize(
    ("text", "graphemes", "utf8", "utf16"),
    [
        ("", 0, 0, 0),
        ("abc", 3, 3, 3),
        ("a\r\nb", 3, 4, 4),
        ("e\u0301", 1, 3, 2),
        (FAMILY, 1, 25, 11),
        ("🇩🇪🇫🇷", 2, 16, 8),
        ("1️⃣", 1, 7, 3),
        ("ノモンハン事件", 7, 21, 7),
        ("नमस्ते", 3, 18, 6),
    ],
)
def test_units(text: str, graphemes: int, utf8: int, utf16: int) -> None:
    assert (grapheme_count(text), utf8_length(text), utf16_length(text)) == (graphemes, utf8, utf16)


def test_a_lone_surrogate_counts_as_a_replacement_character() -> None:
    assert utf8_length("a\ud800") == 4
    assert utf16_length("a\ud800") == 2


@pytest.mark.parametrize(
    ("text", "emoji"),
    [
        ("😷👾", ["😷", "👾"]),
        ("🙋🏽👨‍🎤", ["🙋🏽", "👨‍🎤"]),
        (FAMILY, [FAMILY]),
        ("❤️‍🔥", ["❤️‍🔥"]),
        ("#️⃣ 1⃣", ["#️⃣", "1⃣"]),
        ("🇺🇦", ["🇺🇦"]),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", ["🏴󠁧󠁢󠁳󠁣󠁴󠁿"]),
        ("☺︎ plain, ☺ emoji", ["☺"]),
        ("© ®", []),
        ("©️", ["©️"]),
        ("#1 and 42", []),
    ],
)
def test_emoji_sequences_are_single_emoji(text: str, emoji: list[str]) -> None:
    assert EMOJI.findall(text) == emoji


def test_emoji_clusters() -> None:
    assert is_emoji_cluster(FAMILY)
    assert is_emoji_cluster("1️⃣")
    assert not is_emoji_cluster("é")
    assert not is_emoji_cluster("#")


def test_mastodon_counts_scheme_urls_as_23_and_bare_domains_in_full() -> None:
    url = "https://example.com/" + "a" * 100
    assert mastodon_length(url) == 23
    assert mastodon_length("example.com/" + "a" * 100) == 112
    assert mastodon_length("gemini://example.org/some/capsule") == 23


def test_mastodon_counts_remote_mentions_without_their_domain() -> None:
    assert countable_text("hi @alice@mastodon.example and @bob") == "hi @alice and @bob"
    assert mastodon_length("@alice@mastodon.example") == len("@alice")
    assert countable_text("mail bob@example.com") == "mail bob@example.com"


def test_mastodon_counts_the_content_warning_and_graphemes() -> None:
    assert mastodon_length(FAMILY * 3) == 3
    assert mastodon_length("body", spoiler_text="CW: war") == len("CW: war") + len("body")


def test_mastodon_url_grammar_is_wider_than_x() -> None:
    text = "https://example.com/wiki/Ноябрь_(1939)?q=ü"
    assert find_urls(text, without_protocol=False, grammar=MASTODON_URLS) == [(0, len(text), text)]
    assert find_urls("example.com", without_protocol=False, grammar=MASTODON_URLS) == []


def test_urls_with_and_without_protocol() -> None:
    text = "see example.com and https://t.co/abc."
    assert find_urls(text, without_protocol=True) == [(4, 15, "example.com"), (20, 36, "https://t.co/abc")]
    assert find_urls(text, without_protocol=False) == [(20, 36, "https://t.co/abc")]


@pytest.mark.parametrize(
    "text",
    [
        "a." * 3000 + "com",
        "http://x.com/" + "." * 5000,
        ("あ" * 50 + ".") * 40 + "com",
        "あ" * 4000 + ".js example.com",
        "-a" * 5000 + ".com",
    ],
)
def test_pathological_tokens_finish(text: str) -> None:
    for start, end, url in find_urls(text, without_protocol=True):
        assert text[start:end] == url


def test_a_url_inside_an_overlong_label_is_not_found() -> None:
    assert find_urls("あ" * 70 + "ab.com", without_protocol=True) == []
    assert find_urls("あ" * 5 + "ab.com", without_protocol=True) == [(5, 11, "ab.com")]


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("see example.com.", [(4, 15, "https://example.com")]),
        ("(https://example.com/a_(b)) x", [(1, 27, "https://example.com/a_(b))")]),
        ("(see https://example.com/a)", [(5, 26, "https://example.com/a")]),
        ("file.tar.gz and a.b", []),
        ("mail@example.com", []),
        ("https://", []),
        ("日本語 example.org/パス", [(4, 18, "https://example.org/パス")]),
    ],
)
def test_bluesky_links(text: str, links: list[tuple[int, int, str]]) -> None:
    assert find_bluesky_links(text) == links


def test_threads_counts_emoji_by_their_utf8_bytes() -> None:
    assert threads_length("hello") == 5
    assert threads_length("hi 😷") == 3 + 4
    assert threads_length(FAMILY) == 25
    assert threads_length("é") == 1


def test_little_text_escaping() -> None:
    assert escape_little_text("#tag @you [x](y) <b> *s* _u_ ~t~ {a|b} \\") == (
        "\\#tag \\@you \\[x\\]\\(y\\) \\<b\\> \\*s\\* \\_u\\_ \\~t\\~ \\{a\\|b\\} \\\\"
    )
    assert escape_little_text("plain, 50% off!") == "plain, 50% off!"


_TRICKY = st.sampled_from(
    [*"ab \r\n.", "\r\n", "\u0301", "\u0600", "\u200d", "🇲", "🇳", "é", "😷", "\ufe0f", "日", "\u0915\u094d"]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_TRICKY, max_size=40).map("".join), st.text()))
def test_shortcuts_agree_with_full_segmentation(text: str) -> None:
    clusters = regex.findall(r"\X", text)
    assert grapheme_count(text) == len(clusters)
    inside: set[int] = set()
    position = 0
    for cluster in clusters:
        inside.update(range(position + 1, position + len(cluster)))
        position += len(cluster)
    assert inside_clusters(text) == inside
