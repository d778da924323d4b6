"""Properties of fitting that hold for any text: parts fit, nothing is broken, reordered or invented."""

from __future__ import annotations

import re

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.adapters.registry import rules_for
from scheduler.hashtags import find_hashtags
from scheduler.length import LengthRules, find_urls
from scheduler.length.cuts import BREAKING_SPACE
from scheduler.length.fit import fit
from scheduler.length.links import find_bluesky_links
from scheduler.length.urls import MASTODON_URLS

RULES = [
    rules_for("x", limit=90),
    rules_for("bluesky", limit=90),
    rules_for("mastodon", limit=90, spoiler_text="CW"),
    rules_for("threads", limit=120),
    rules_for("linkedin", limit=120),
    rules_for("telegram", limit=100),
]
SPACE = re.compile(f"[{BREAKING_SPACE}]+")
TAIL = "https://example.com/post #Tagcast"
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

words = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=10
)
urls = st.builds(
    "{}://{}.{}/{}".format,
    st.sampled_from(["http", "https", "gemini"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True),
    st.sampled_from(["com", "org", "de", "co", "みんな"]),
    st.from_regex(r"[a-z0-9_/()%-]{0,20}", fullmatch=True),
)
bare_domains = st.builds(
    "{}.{}".format, st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.sampled_from(["com", "io"])
)
tags = st.builds("{}{}".format, st.sampled_from(["#", "＃"]), st.from_regex(r"\w{1,12}", fullmatch=True))
specials = st.sampled_from(
    ["👨‍👩‍👧‍👦", "🇲🇳", "1️⃣", "e\u0301", "。", "日本語の文。", "@alice@example.social", "Dr.", "ok."]
)
tokens = st.one_of(words, words, urls, bare_domains, tags, specials)
separators = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  ", "\u3000", "", ". ", "! "])


@st.composite
def bodies(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(tokens, separators), max_size=40))
    return "".join(token + separator for token, separator in pieces)


def render_with(title: str) -> tuple[str, str]:
    return f"{title}\n\n", f"\n\n{TAIL}"


def detected(text: str) -> set[str]:
    """Every URL, link and hashtag any network would see in ``text``."""
    found = {url for _, _, url in find_urls(text, without_protocol=True)}
    found |= {url for _, _, url in find_urls(text, without_protocol=False, grammar=MASTODON_URLS)}
    found |= {text[start:end] for start, end, _ in find_bluesky_links(text)}
    found |= {text[tag.start : tag.end] for tag in find_hashtags(text)}
    return found


def cluster_starts(text: str) -> set[int]:
    starts, position = {0}, 0
    for cluster in regex.findall(r"\X", text):
        position += len(cluster)
        starts.add(position)
    return starts


@PROPERTY_SETTINGS
@given(
    body=st.one_of(bodies(), st.text(max_size=400)),
    rules=st.sampled_from(RULES),
    title=st.sampled_from(["T", "Title"]),
)
def test_shortened_posts_fit_and_keep_a_whole_prefix(body: str, rules: LengthRules, title: str) -> None:
    head, tail = render_with(title)
    full = head + body + tail
    result = fit(lambda text: head + text + tail, body, rules)
    assert len(result.parts) == 1
    (text,) = result.parts
    assert result.lengths == [rules.count(text)]
    if result.problems:
        assert text == full
        assert not result.shortened
        return
    assert rules.fits(text)
    assert text.startswith(head)
    assert text.endswith(tail)
    kept = text[len(head) : len(text) - len(tail)]
    if not result.shortened:
        assert kept == body
        return
    if not body.startswith(kept):
        kept = kept.removesuffix("…").removesuffix(" ")
    assert body.startswith(kept)
    assert len(kept) in cluster_starts(body)
    assert len(kept) < len(body)
    assert SPACE.match(body, len(kept)) or kept.endswith(("。", "！", "？")) or not kept
    assert detected(text) <= detected(full) | {"…"}


@PROPERTY_SETTINGS
@given(body=st.one_of(bodies(), st.text(max_size=400)), rules=st.sampled_from(RULES))
def test_thread_parts_fit_and_rebuild_the_text(body: str, rules: LengthRules) -> None:
    full = f"Title\n\n{body}\n\n{TAIL}"
    result = fit(lambda text: f"Title\n\n{text}\n\n{TAIL}", body, rules, thread=True)
    assert result.lengths == [rules.count(part) for part in result.parts]
    if len(result.parts) == 1 and rules.fits(full):
        assert result.parts == [full]
        return
    total = len(result.parts)
    chunks = []
    for number, part in enumerate(result.parts, 1):
        assert part.endswith(f" {number}/{total}")
        chunks.append(part.removesuffix(f" {number}/{total}"))
        if not any(problem.startswith(f"part {number}/{total}:") for problem in result.problems):
            assert rules.fits(part)
    starts = cluster_starts(full)
    position = 0
    for chunk in chunks:
        start = full.index(chunk, position)
        assert SPACE.fullmatch(full[position:start]) or start == position
        assert start in starts
        assert start + len(chunk) in starts
        position = start + len(chunk)
    assert not full[position:].strip()
    assert SPACE.sub("", "".join(chunks)) == SPACE.sub("", full)
    for chunk in chunks:
        assert detected(chunk) <= detected(full)
    assert " ".join(chunks).split() == full.split() or "。" in full or "！" in full or "？" in full


@PROPERTY_SETTINGS
@given(body=bodies(), rules=st.sampled_from(RULES), fewer=st.integers(1, 3))
def test_max_parts_bounds_a_thread_and_changes_nothing_within_it(
    body: str, rules: LengthRules, fewer: int
) -> None:
    def render(text: str) -> str:
        return f"Title\n\n{text}\n\n{TAIL}"

    unbounded = fit(render, body, rules, thread=True)
    needed = len(unbounded.parts)
    assert fit(render, body, rules, thread=True, max_parts=needed) == unbounded
    if needed - fewer >= 1:
        bounded = fit(render, body, rules, thread=True, max_parts=needed - fewer)
        assert len(bounded.parts) == needed - fewer
        assert bounded.problems[0].endswith(
            f"the channel allows max_parts = {needed - fewer}: shorten the article or raise max_parts"
        )
        if not unbounded.problems:  # every part shown fits with its own number
            assert len(bounded.problems) == 1
            assert all(rules.fits(part) for part in bounded.parts)


@st.composite
def long_bodies(draw: st.DrawFn) -> str:
    pieces = draw(st.lists(st.tuples(tokens, separators), min_size=30, max_size=160))
    return "".join(token + separator for token, separator in pieces)


LONG_RULES = [
    *RULES,
    rules_for("mastodon", limit=500),
    rules_for("bluesky", limit=300),
    rules_for("x", limit=280),
    rules_for("threads", limit=500),
]


@PROPERTY_SETTINGS
@given(
    body=st.one_of(bodies(), long_bodies(), st.text(max_size=1200)),
    rules=st.sampled_from(LONG_RULES),
    title=st.sampled_from(["T", "Title"]),
)
def test_a_template_that_looks_at_the_body_is_shortened_as_one_that_frames_it(
    body: str, rules: LengthRules, title: str
) -> None:
    """The framed search (a template that only puts text around the body) and the rendering search (one
    whose last character tells the whole body from the others, so no shorter body is the guess of a frame)
    keep the same body."""
    head, tail = render_with(title)
    framed = fit(lambda text: head + text + tail + "B", body, rules)
    looking = fit(lambda text: head + text + tail + ("A" if text == body else "B"), body, rules)
    assert [part[:-1] for part in looking.parts] == [part[:-1] for part in framed.parts]
    assert looking.lengths == framed.lengths
    assert looking.shortened == framed.shortened
    assert looking.problems == framed.problems
