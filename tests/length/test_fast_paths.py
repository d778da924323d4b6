"""Every shortcut of the length engine gives what the plain definition gives, for any text.

Each test sets a fast path (a pre-check, an ASCII shortcut, a bisection instead of probing) against the
straightforward way of computing the same thing, written out here as the reference.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import fields

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.adapters.registry import rules_for
from scheduler.hashtags import _hashtags_from, find_hashtags
from scheduler.length import LengthRules
from scheduler.length.cuts import (
    _SENTENCE_END,
    _SPACE_RUN,
    _STARTS_ENTITY,
    _WIDE_SENTENCE_END,
    Cut,
    Kind,
    _trim_clusters,
    find_cuts,
    protected_positions,
    trim,
)
from scheduler.length.emoji import EMOJI
from scheduler.length.fit import _last_true, fit
from scheduler.length.graphemes import grapheme_count, inside_clusters
from scheduler.length.links import _links_between, find_bluesky_links
from scheduler.length.tlds import TLDS
from scheduler.length.twitter import TWITTER_V2, TWITTER_V3, TwitterConfig, twitter_weighted_length
from scheduler.length.urls import (
    _PUNYCODE,
    _WHITE_SPACE,
    _WHITE_SPACE_CHARS,
    MASTODON_URLS,
    TWITTER_URLS,
    UrlGrammar,
    _scan,
    _tld_hint_regex,
    _tld_pattern,
    find_urls,
)

FAST_PATH_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPACES = [
    " ",
    "  ",
    "\n",
    "\n\n",
    " \n \n",
    "\r\n",
    "\t",
    "\u00a0",
    "\u3000",
    "\u2005",
    "\u2028",
    "\x85",
    "\ufeff",
]
PIECES = [
    *"aZ09.,:;!?/()#＃@-_'\"…",
    "word",
    "Word.",
    "e.g.",
    "Dr.",
    "x.",
    "a.b",
    "ſ.ſ",
    ".K",
    "e\u0301",
    "\u0600",
    "\u200d",
    "👨‍👩‍👧‍👦",
    "🙋🏽",
    "🇩🇪🇫",
    "1️⃣",
    "©",
    "©\ufe0f",
    "\ufffe",
    "ノモンハン事件",
    "نزاعًا",
    "한국어",
    "\u1100\u1161\u11a8",
    "क्षि",
    "🇲🇳🇩🇪🇫",
    "👨🏽‍🔬",
    "\r",
    "。",
    "！」",
    "#KhalkhinGol",
    "#History.",
    "＃タグ",
    "#123",
    "a#b",
    "@alice@example.social",
    "example.com",
    "www.test.de/path",
    "https://example.com/a/very/long/path",
    "HTTPS://EXAMPLE.COM/x",
    "https://t.co/abc?q=1",
    "(example.org)",
    "gemini://a.b.com/x",
    "http://localhost:8080/x",
    "xn--ls8h.la",
    "例え.みんな",
    "пример.рф/путь",
    "EXAMPLE.COM",
    "k.de/p(a)",
]
texts = st.lists(st.sampled_from(PIECES + SPACES), max_size=40).map("".join) | st.text(max_size=120)
ascii_texts = st.text(st.characters(max_codepoint=127), max_size=200) | st.lists(
    st.sampled_from([p for p in PIECES + SPACES if p.isascii()]), max_size=60
).map("".join)

RULES = [
    rules_for(network, limit=limit, spoiler_text=spoiler)
    for network in ("x", "mastodon", "bluesky", "threads", "linkedin", "telegram", "discord", "slack", "file")
    for limit in (None, 5, 40)
    for spoiler in (["", "CW ⚠️"] if network == "mastodon" else [""])
] + [
    LengthRules("custom", 30, "utf8", byte_limit=25, refuses_empty=True),
    LengthRules("other", 30, "furlongs"),
]


# References: the plain definitions the fast paths must agree with.

_REFERENCE_TLD_HINT = re.compile(rf"\.(?:{_tld_pattern()}|{_PUNYCODE})", re.IGNORECASE)
_DOTTED_TOKEN = re.compile(rf"(?<![^{_WHITE_SPACE}])[^{_WHITE_SPACE}.]*\.[^{_WHITE_SPACE}]*")


def reference_find_urls(text: str, without_protocol: bool, grammar: UrlGrammar) -> list[tuple[int, int, str]]:
    """Scan every token that has a dot."""
    found = []
    for token in _DOTTED_TOKEN.finditer(text):
        if _REFERENCE_TLD_HINT.search(token[0]):
            found += [
                (token.start() + start, token.start() + end, url)
                for start, end, url in _scan(token[0], without_protocol, grammar)
            ]
    return found


def reference_inside_clusters(text: str) -> set[int]:
    inside: set[int] = set()
    position = 0
    for cluster in regex.findall(r"\X", text):
        inside.update(range(position + 1, position + len(cluster)))
        position += len(cluster)
    return inside


def reference_cuts(text: str) -> list[Cut]:
    """One run of whitespace at a time."""
    inside = reference_inside_clusters(text)
    forbidden = protected_positions(text) | inside
    cuts = []
    sentence_ends = {match.end() for match in _SENTENCE_END.finditer(text)}
    for run in _SPACE_RUN.finditer(text):
        end, resume = run.span()
        if end == 0 or end in forbidden:
            continue
        while resume in inside:
            resume -= 1
        if "\n" in run[0] and re.search(r"\n[^\S\n]*\n", run[0]):
            kind = Kind.PARAGRAPH
        elif end in sentence_ends and not text[run.end() : run.end() + 1].islower():
            kind = Kind.SENTENCE
        else:
            kind = Kind.WORD
        cuts.append(Cut(end, resume, kind))
    for mark in _WIDE_SENTENCE_END.finditer(text):
        end = mark.end()
        if end < len(text) and end not in forbidden and not _STARTS_ENTITY.match(text, end):
            cuts.append(Cut(end, end, Kind.SENTENCE))
    return sorted(cuts, key=lambda cut: cut.end)


def reference_weighted_length(text: str, config: TwitterConfig) -> int:
    """Normalise, weigh URLs and emoji whole, and every other code point by its range."""
    normalized = unicodedata.normalize("NFC", text)
    found = {
        start: (end, config.transformed_url_length * config.scale)
        for start, end, _ in find_urls(normalized, without_protocol=True)
    }
    if config.emoji_parsing:
        for match in EMOJI.finditer(normalized):
            found.setdefault(match.start(), (match.end(), config.default_weight))
    total, position = 0, 0
    for start in sorted(found):
        if start >= position:
            total += sum(config.weight(char) for char in normalized[position:start]) + found[start][1]
            position = found[start][0]
    total += sum(config.weight(char) for char in normalized[position:])
    return -(-total // config.scale)


class ProbingRules(LengthRules):
    """Rules that never tell a slice's reach, so that splitting probes every part it considers."""

    def slice_reach(self, text: str) -> Callable[[int, str], int | None]:
        return lambda start, suffix: None


# The fast paths.


@FAST_PATH_SETTINGS
@given(text=texts)
def test_urls_are_found_only_around_a_dot_and_a_tld(text: str) -> None:
    for without_protocol in (True, False):
        for grammar in (TWITTER_URLS, MASTODON_URLS):
            assert find_urls(text, without_protocol=without_protocol, grammar=grammar) == reference_find_urls(
                text, without_protocol, grammar
            )
    assert [m.span() for m in _tld_hint_regex().finditer(text)] == [
        m.span() for m in _REFERENCE_TLD_HINT.finditer(text)
    ]


def test_every_tld_starts_with_a_word_character_in_any_case() -> None:
    firsts = {name[0] for name in TLDS} | {"x"}
    assert all(re.fullmatch(r"\w", char) for char in firsts)
    any_case = re.compile(f"[{''.join(sorted(firsts))}]", re.IGNORECASE)
    assert all(re.fullmatch(r"\w", chr(code)) for code in range(0x10000) if any_case.fullmatch(chr(code)))


def test_the_white_space_set_is_the_white_space_class() -> None:
    in_class = re.compile(f"[{_WHITE_SPACE}]")
    assert {chr(code) for code in range(0x10000) if in_class.fullmatch(chr(code))} == _WHITE_SPACE_CHARS


@FAST_PATH_SETTINGS
@given(text=texts)
def test_links_and_hashtags_are_searched_only_where_they_can_start(text: str) -> None:
    assert find_bluesky_links(text) == _links_between(text, 0, len(text))
    assert find_hashtags(text) == _hashtags_from(text, 0)


@FAST_PATH_SETTINGS
@given(text=texts)
def test_clusters_and_cuts_match_their_definitions(text: str) -> None:
    assert inside_clusters(text) == reference_inside_clusters(text)
    assert grapheme_count(text) == len(regex.findall(r"\X", text))
    assert find_cuts(text) == reference_cuts(text)
    assert trim(text) == _trim_clusters(text)
    assert trim(" " + text) == _trim_clusters(" " + text)


@FAST_PATH_SETTINGS
@given(text=texts)
def test_weighted_length_matches_its_definition(text: str) -> None:
    for config in (TWITTER_V3, TWITTER_V2):
        assert twitter_weighted_length(text, config) == reference_weighted_length(text, config)


@FAST_PATH_SETTINGS
@given(text=texts | ascii_texts)
def test_fits_and_measure_agree_with_violations(text: str) -> None:
    for rules in RULES:
        violations = rules.violations(text)
        assert rules.fits(text) == (not violations)
        assert rules.measure(text) == (rules.count(text), violations)


@FAST_PATH_SETTINGS
@given(text=ascii_texts | texts, suffix=st.sampled_from([" 1/3", " 12/12", "", " ", "\r", "\n", "…", "x"]))
def test_a_known_reach_is_exactly_where_slices_stop_fitting(text: str, suffix: str) -> None:
    for rules in RULES:
        reach = rules.slice_reach(text)
        for start in range(0, len(text) + 1, 7):
            known = reach(start, suffix)
            if known is None:
                continue
            for end in range(start, len(text) + 1):
                assert rules.fits(text[start:end] + suffix) == (end <= known)


@FAST_PATH_SETTINGS
@given(body=ascii_texts | texts)
def test_threads_split_the_same_with_or_without_a_known_reach(body: str) -> None:
    for rules in RULES:
        probing = ProbingRules(**{field.name: getattr(rules, field.name) for field in fields(rules)})
        render = "Title\n\n{}\n\nhttps://example.com/post #Tag".format
        assert fit(render, body, rules, thread=True) == fit(render, body, probing, thread=True)


@FAST_PATH_SETTINGS
@given(body=texts, rules=st.sampled_from(RULES), thread=st.booleans())
def test_fitting_renders_each_body_once(body: str, rules: LengthRules, thread: bool) -> None:
    rendered: list[str] = []

    def render(text: str) -> str:
        rendered.append(text)
        return f"Title {text} example.com"

    fit(render, body, rules, thread=thread)
    assert len(rendered) == len(set(rendered))


def reference_last_true(count: int, accepts: Callable[[int], bool]) -> int:
    """Try every index."""
    return max((index for index in range(count) if accepts(index)), default=-1)


@FAST_PATH_SETTINGS
@given(count=st.integers(0, 70), answer=st.integers(-1, 70), guess=st.none() | st.integers(-3, 75))
def test_a_guess_changes_where_the_search_looks_not_what_it_finds(
    count: int, answer: int, guess: int | None
) -> None:
    probed: list[int] = []

    def accepts(index: int) -> bool:
        probed.append(index)
        return index <= answer

    assert _last_true(count, accepts, guess) == reference_last_true(count, lambda i: i <= answer)
    assert all(0 <= index < count for index in probed)
    if guess is not None and 0 <= guess == min(answer, count - 1) < count - 1:
        assert len(probed) == 2  # a right guess costs two probes
