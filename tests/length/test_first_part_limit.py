"""A first part with a limit of its own (``LengthRules.first_limit``: a photo's caption on Telegram): fitting
holds the first part to it and every later part of a thread to ``limit``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.adapters.registry import rules_for
from scheduler.length import LengthRules
from scheduler.length.cuts import trim
from scheduler.length.fit import fit
from tests.length.test_fit_properties import PROPERTY_SETTINGS, SPACE, TAIL, bodies

SENTENCES = [f"Sentence {n} tells one more thing about the river and its boats." for n in range(120)]
BODY = " ".join(SENTENCES)
RULES = LengthRules("net", limit=2000, unit="characters", first_limit=500, refuses_empty=True)


def framed(body: str) -> str:
    return f"The river\n\n{body}\n\nhttps://example.org/river #River"


def unnumbered(parts: list[str]) -> str:
    """The thread's text without the `` i/N`` after each part, joined by single spaces."""
    total = len(parts)
    suffixes = [f" {number}/{total}" for number in range(1, total + 1)]
    assert all(part.endswith(suffix) for part, suffix in zip(parts, suffixes, strict=True))
    return " ".join(part.removesuffix(suffix) for part, suffix in zip(parts, suffixes, strict=True))


def test_the_rules_of_each_part() -> None:
    assert (RULES.for_part(0).limit, RULES.for_part(1).limit, RULES.for_part(7).limit) == (500, 2000, 2000)
    assert RULES.for_part(0).first_limit is None and RULES.for_part(1).first_limit is None
    assert RULES.limits(3) == (500, 2000, 2000)
    assert RULES.limits(1) == (500,) and RULES.limits(0) == ()
    plain = LengthRules("net", limit=2000)
    assert plain.for_part(0) is plain and plain.for_part(3) is plain
    assert plain.limits(2) == (2000, 2000)


def test_a_thread_holds_its_first_part_to_the_first_limit_and_the_others_to_the_limit() -> None:
    result = fit(framed, BODY, RULES, thread=True)
    assert result.problems == []
    first, *later = result.lengths
    assert 400 < first <= 500, "the first part is filled up to its own limit"
    assert later and all(length <= 2000 for length in later)
    assert max(later) > 1500, "the later parts are not held to the first part's limit"
    assert result.lengths == [len(part) for part in result.parts]
    assert " ".join(unnumbered(result.parts).split()) == " ".join(trim(framed(BODY)).split())


def test_a_thread_that_fits_the_limit_but_not_the_first_limit_is_split() -> None:
    text = framed(" ".join(SENTENCES[:12]))
    assert 500 < len(text) < 2000
    result = fit(framed, " ".join(SENTENCES[:12]), RULES, thread=True)
    assert result.problems == []
    assert len(result.parts) == 2 and result.lengths[0] <= 500
    assert fit(framed, " ".join(SENTENCES[:12]), LengthRules("net", limit=2000), thread=True).parts == [text]


def test_a_post_of_one_part_is_shortened_to_the_first_limit() -> None:
    result = fit(framed, BODY, RULES)
    assert result.shortened and result.problems == []
    [length] = result.lengths
    assert 400 < length <= 500


def test_a_first_limit_equal_to_the_limit_fits_as_without_one() -> None:
    same = LengthRules("net", limit=500, unit="characters", first_limit=500, refuses_empty=True)
    without = LengthRules("net", limit=500, unit="characters", refuses_empty=True)
    assert fit(framed, BODY, same, thread=True) == fit(framed, BODY, without, thread=True)
    assert fit(framed, BODY, same) == fit(framed, BODY, without)


def test_a_word_longer_than_the_first_part_is_a_problem_of_the_first_part_only() -> None:
    url = "https://example.org/" + "a" * 600
    result = fit(lambda body: body, f"{url} {BODY}", RULES, thread=True)
    assert result.problems == [
        f"part 1/{len(result.parts)}: {len(result.parts[0])} characters, limit 500 "
        "(one word or URL is longer than a whole post)"
    ]
    assert all(length <= 2000 for length in result.lengths[1:])


@pytest.mark.parametrize("max_parts", [2, 3])
def test_too_many_parts_counts_the_parts_by_their_own_limits(max_parts: int) -> None:
    result = fit(framed, BODY * 2, RULES, thread=True, max_parts=max_parts)
    assert len(result.parts) == max_parts
    assert result.lengths[0] <= 500 and all(length <= 2000 for length in result.lengths[1:])
    assert result.problems[0].startswith("the thread needs about ")


FIRST_LIMIT_RULES = [
    replace(rules_for("telegram", limit=100), first_limit=40),
    replace(rules_for("bluesky", limit=90), first_limit=50),
    replace(rules_for("x", limit=90), first_limit=60),
    replace(rules_for("mastodon", limit=60), first_limit=90),
]


@PROPERTY_SETTINGS
@given(body=st.one_of(bodies(), st.text(max_size=400)), rules=st.sampled_from(FIRST_LIMIT_RULES))
def test_every_part_fits_its_own_limit_and_the_parts_rebuild_the_text(body: str, rules: LengthRules) -> None:
    full = f"Title\n\n{body}\n\n{TAIL}"
    result = fit(lambda text: f"Title\n\n{text}\n\n{TAIL}", body, rules, thread=True)
    assert result.lengths == [rules.count(part) for part in result.parts]
    if len(result.parts) == 1 and rules.for_part(0).fits(full):
        assert result.parts == [full]
        return
    total = len(result.parts)
    chunks = []
    for index, part in enumerate(result.parts):
        suffix = f" {index + 1}/{total}"
        assert part.endswith(suffix)
        chunks.append(part.removesuffix(suffix))
        if not any(problem.startswith(f"part {index + 1}/{total}:") for problem in result.problems):
            assert rules.for_part(index).fits(part)
    assert SPACE.sub("", "".join(chunks)) == SPACE.sub("", full)


@PROPERTY_SETTINGS
@given(body=st.one_of(bodies(), st.text(max_size=400)), rules=st.sampled_from(FIRST_LIMIT_RULES))
def test_a_post_of_one_part_fits_the_first_limit(body: str, rules: LengthRules) -> None:
    result = fit(lambda text: f"T\n\n{text}\n\n{TAIL}", body, rules)
    [text] = result.parts
    assert result.problems or rules.for_part(0).fits(text)
