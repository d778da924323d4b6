"""Bluesky facets: exact JSON shape, UTF-8 byte offsets, and offsets that are always right."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.facets import LINK_FACET, TAG_FACET, detect_facets
from scheduler.length.graphemes import grapheme_count


def test_the_shape_is_the_lexicon_s() -> None:
    assert detect_facets("#python https://example.com") == [
        {"index": {"byteStart": 0, "byteEnd": 7}, "features": [{"$type": TAG_FACET, "tag": "python"}]},
        {
            "index": {"byteStart": 8, "byteEnd": 27},
            "features": [{"$type": LINK_FACET, "uri": "https://example.com"}],
        },
    ]


def test_offsets_are_utf8_bytes() -> None:
    text = "Ноябрь 👨‍👩‍👧‍👦 #ノモンハン事件! see example.org/a."
    facets = detect_facets(text)
    encoded = text.encode()
    assert [encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets] == [
        "#ノモンハン事件",
        "example.org/a",
    ]
    assert facets[0]["features"] == [{"$type": TAG_FACET, "tag": "ノモンハン事件"}]
    assert facets[1]["features"] == [{"$type": LINK_FACET, "uri": "https://example.org/a"}]


def test_full_width_hash_and_trailing_punctuation() -> None:
    facets = detect_facets("＃tag, (https://example.com/x)")
    assert [f["features"][0] for f in facets] == [
        {"$type": TAG_FACET, "tag": "tag"},
        {"$type": LINK_FACET, "uri": "https://example.com/x"},
    ]
    assert facets[0]["index"] == {"byteStart": 0, "byteEnd": 6}


def test_no_facets_for_numbers_emails_or_unknown_tlds() -> None:
    assert detect_facets("#123 mail@example.com file.tar.gz a#b") == []


def test_a_tag_over_64_graphemes_is_dropped() -> None:
    assert [f["features"][0]["tag"] for f in detect_facets("#" + "a" * 64)] == ["a" * 64]
    assert detect_facets("#" + "a" * 65) == []


def _check(text: str, facets: list[dict[str, Any]]) -> None:
    encoded = text.encode()
    previous_end = 0
    for facet in facets:
        assert set(facet) == {"index", "features"}
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert previous_end <= start < end <= len(encoded)
        previous_end = end
        encoded[:start].decode()
        written = encoded[start:end].decode()
        (feature,) = facet["features"]
        if feature["$type"] == TAG_FACET:
            assert written in ("#" + feature["tag"], "＃" + feature["tag"])
            assert grapheme_count(feature["tag"]) <= 64
            assert len(feature["tag"].encode()) <= 640
        else:
            assert feature["$type"] == LINK_FACET
            assert feature["uri"] in (written, "https://" + written)


tags = st.builds("#{}".format, st.from_regex(r"[\w\-]{1,20}", fullmatch=True))
urls = st.builds(
    "https://{}.com/{}".format,
    st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True),
    st.from_regex(r"[\w/()%.?=&-]{0,15}", fullmatch=True),
)
domains = st.builds("{}.org".format, st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pieces=st.lists(
        st.tuples(
            st.one_of(st.text(max_size=12), tags, urls, domains),
            st.sampled_from([" ", "\n", "", "(", "\u3000"]),
        ),
        max_size=25,
    )
)
def test_offsets_always_slice_exactly_the_tag_or_link(pieces: list[tuple[str, str]]) -> None:
    text = "".join(token + separator for token, separator in pieces)
    _check(text, detect_facets(text))


@settings(max_examples=100, deadline=None)
@given(prefix=st.text(max_size=20), tag=st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,20}", fullmatch=True), url=urls)
def test_a_separated_tag_and_url_are_always_found(prefix: str, tag: str, url: str) -> None:
    text = f"{prefix} #{tag} {url} tail"
    facets = detect_facets(text)
    _check(text, facets)
    features = [facet["features"][0] for facet in facets]
    assert {"$type": TAG_FACET, "tag": tag} in features
    assert any(feature.get("uri", "").startswith(url.rstrip(".,;:!?)")[:20]) for feature in features)
