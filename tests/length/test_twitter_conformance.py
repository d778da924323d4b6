"""X's weighted length and URL extraction against twitter-text's own conformance cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scheduler.length import TWITTER_V2, TWITTER_V3, TwitterConfig, parse_tweet, twitter_weighted_length
from scheduler.length.urls import find_urls

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "twitter-text"
MISSING = f"twitter-text conformance files not found at {CONFORMANCE} (shared/ is laid beside the repository)"

# The configuration each section is checked with, as twitter-text's own Ruby conformance test does.
WEIGHTED_SECTIONS = {
    "WeightedTweetsCounterTest": TWITTER_V2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": TWITTER_V3,
    "UnicodeDirectionalMarkerCounterTest": TWITTER_V3,
}
EXPECTED_WEIGHTED_CASES = 44
URL_SECTIONS = ("urls", "tco_urls_with_params")
URL_INDEX_SECTIONS = ("urls_with_indices", "urls_with_directional_markers")
EXPECTED_URL_CASES = 108

needs_files = pytest.mark.skipif(not CONFORMANCE.is_dir(), reason=MISSING)


def load(name: str) -> dict[str, list[dict[str, Any]]]:
    """The ``tests`` mapping of one conformance file, or ``{}`` when the folder is absent."""
    path = CONFORMANCE / name
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as stream:
        tests: dict[str, list[dict[str, Any]]] = yaml.safe_load(stream)["tests"]
    return tests


def _weighted_cases() -> list[Any]:
    validate = load("validate.yml")
    return [
        pytest.param(case, config, id=f"{section}: {case['description']}")
        for section, config in WEIGHTED_SECTIONS.items()
        for case in validate.get(section, [])
    ]


def _url_cases() -> list[Any]:
    extract = load("extract.yml")
    cases = [
        pytest.param(
            case["text"],
            [(None, None, url) for url in case["expected"]],
            id=f"{section}: {case['description']}",
        )
        for section in URL_SECTIONS
        for case in extract.get(section, [])
    ]
    cases += [
        pytest.param(
            case["text"],
            [(entity["indices"][0], entity["indices"][1], entity["url"]) for entity in case["expected"]],
            id=f"{section}: {case['description']}",
        )
        for section in URL_INDEX_SECTIONS
        for case in extract.get(section, [])
    ]
    return cases


WEIGHTED_CASES = _weighted_cases()
URL_CASES = _url_cases()


@needs_files
def test_every_weighted_section_is_there() -> None:
    validate = load("validate.yml")
    weighted = {name for name in validate if "Weighted" in name or "CounterTest" in name}
    assert weighted == set(WEIGHTED_SECTIONS)
    assert len(WEIGHTED_CASES) == EXPECTED_WEIGHTED_CASES


@needs_files
def test_every_url_case_is_collected() -> None:
    assert len(URL_CASES) == EXPECTED_URL_CASES


@needs_files
@pytest.mark.parametrize(("case", "config"), WEIGHTED_CASES)
def test_parse_tweet_matches_twitter_text(case: dict[str, Any], config: TwitterConfig) -> None:
    result = parse_tweet(case["text"], config)
    assert {
        "weightedLength": result.weighted_length,
        "valid": result.valid,
        "permillage": result.permillage,
        "displayRangeStart": result.display_range_start,
        "displayRangeEnd": result.display_range_end,
        "validRangeStart": result.valid_range_start,
        "validRangeEnd": result.valid_range_end,
    } == case["expected"]
    assert twitter_weighted_length(case["text"], config) == case["expected"]["weightedLength"]


@needs_files
@pytest.mark.parametrize(("text", "expected"), URL_CASES)
def test_find_urls_matches_twitter_text(
    text: str, expected: list[tuple[int | None, int | None, str]]
) -> None:
    found = find_urls(text, without_protocol=True)
    assert [url for _, _, url in found] == [url for _, _, url in expected]
    for (start, end, url), (want_start, want_end, _) in zip(found, expected, strict=True):
        assert text[start:end] == url
        if want_start is not None:
            assert (start, end) == (want_start, want_end)
