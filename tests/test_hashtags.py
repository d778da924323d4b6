from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.clusters import clusters
from scheduler.hashtags import (
    TagMatch,
    find_hashtags,
    grapheme_count,
    is_hashtag,
    limit_hashtags,
    normalize_hashtags,
)
from scheduler.models import Hashtag


def tags(text: str) -> list[str]:
    return [match.tag for match in find_hashtags(text)]


def texts(hashtags: tuple[Hashtag, ...]) -> list[str]:
    return [tag.text for tag in hashtags]


class TestFindHashtags:
    def test_offsets_are_code_points(self) -> None:
        assert find_hashtags("Go #KhalkhinGol now") == [TagMatch(start=3, end=15, tag="KhalkhinGol")]

    def test_at_start_of_text(self) -> None:
        assert find_hashtags("#first word") == [TagMatch(0, 6, "first")]

    @pytest.mark.parametrize("text", ["#123", "#1939 #2024", "#", "# ", "#!!!", "#12.5"])
    def test_needs_a_character_that_is_not_a_digit_or_punctuation(self, text: str) -> None:
        assert find_hashtags(text) == []

    def test_letters_and_digits(self) -> None:
        assert tags("#a1 #1a #ww2") == ["a1", "1a", "ww2"]

    def test_trailing_punctuation_is_stripped(self) -> None:
        assert find_hashtags("#tag!?.") == [TagMatch(0, 4, "tag")]
        assert tags("(see #History), #Science; #Moon…") == ["History", "Science", "Moon"]

    def test_inner_punctuation_is_kept(self) -> None:
        assert tags("#rock'n'roll #a.b!") == ["rock'n'roll", "a.b"]

    def test_fullwidth_hash(self) -> None:
        assert find_hashtags("見て ＃ノモンハン事件") == [TagMatch(3, 11, "ノモンハン事件")]

    @pytest.mark.parametrize("text", ["a#b", "x.#tag", "email#tag", "(#tag)"])
    def test_not_after_a_non_space(self, text: str) -> None:
        assert find_hashtags(text) == []

    @pytest.mark.parametrize("space", [" ", "\n", "\t", "\u00a0", "\u3000", "\u2003"])
    def test_after_any_whitespace(self, space: str) -> None:
        assert tags(f"x{space}#tag") == ["tag"]

    @pytest.mark.parametrize("stop", ["\u00ad", "\u2060", "\u200a", "\u200b", "\u200c", "\u200d", "\u20e2"])
    def test_zero_width_terminators(self, stop: str) -> None:
        assert find_hashtags(f"#abc{stop}def") == [TagMatch(0, 4, "abc")]

    def test_a_hash_inside_a_tag_is_part_of_it(self) -> None:
        assert tags("#a#b") == ["a#b"]

    def test_may_not_start_with_variation_selector(self) -> None:
        assert find_hashtags("#\ufe0fabc") == []

    def test_64_graphemes_kept_65_dropped(self) -> None:
        assert tags("#" + "a" * 64) == ["a" * 64]
        assert tags("#" + "a" * 65) == []

    def test_length_limit_counts_graphemes_not_code_points(self) -> None:
        family = "👨\u200d👩\u200d👧"
        accented = "e\u0301"
        assert tags("#" + accented * 64) == [accented * 64]
        assert tags("#x" + "👍🏽" * 63) == ["x" + "👍🏽" * 63]
        assert grapheme_count(family) == 1

    def test_emoji(self) -> None:
        assert tags("#🔭 #moon🌕 #🌕moon") == ["🔭", "moon🌕", "🌕moon"]

    def test_cjk_and_cyrillic(self) -> None:
        assert tags("Бои у реки #ХалхинГол и #ノモンハン事件.") == ["ХалхинГол", "ノモンハン事件"]

    def test_tag_line_with_no_break_spaces(self) -> None:
        line = "#mooflife\u00a0#MomentOfLife\u00a0#Stalin\u00a0"
        assert tags(line) == ["mooflife", "MomentOfLife", "Stalin"]

    @given(st.text(alphabet=st.sampled_from(list("ab1 #＃.!\u00a0\u200b\ufe0fЖノ🌕\n")), max_size=40))
    def test_matches_point_at_their_tags(self, text: str) -> None:
        for match in find_hashtags(text):
            assert text[match.start] in "#＃"
            assert text[match.start + 1 : match.end] == match.tag
            assert match.start == 0 or text[match.start - 1].isspace()

    @given(st.text(max_size=60))
    def test_matches_point_at_their_tags_any_text(self, text: str) -> None:
        for match in find_hashtags(text):
            assert text[match.start] in "#＃"
            assert text[match.start + 1 : match.end] == match.tag


class TestIsHashtag:
    def test_valid(self) -> None:
        assert is_hashtag("KhalkhinGol")
        assert is_hashtag("#ХалхинГол")

    @pytest.mark.parametrize("tag", ["123", "two words", "tag!", ""])
    def test_invalid(self, tag: str) -> None:
        assert not is_hashtag(tag)


class TestNormalizeHashtags:
    def test_strips_hash_marks(self) -> None:
        assert texts(normalize_hashtags(["#History", "＃Science", "Moon"])) == ["History", "Science", "Moon"]

    def test_dedupe_keeps_first_seen_order(self) -> None:
        assert texts(normalize_hashtags(["b", "a", "B", "c", "A"])) == ["b", "a", "c"]

    def test_prefers_mixed_case_spelling(self) -> None:
        result = normalize_hashtags(["khalkhingol", "Science", "KHALKHINGOL", "KhalkhinGol", "Khalkhingol"])
        assert texts(result) == ["KhalkhinGol", "Science"]

    def test_all_upper_and_all_lower_keep_the_first(self) -> None:
        assert texts(normalize_hashtags(["NASA", "nasa"])) == ["NASA"]
        assert texts(normalize_hashtags(["nasa", "NASA"])) == ["nasa"]

    def test_dedupe_uses_casefold(self) -> None:
        assert texts(normalize_hashtags(["Straße", "STRASSE"])) == ["Straße"]

    def test_alias_keys_match_case_insensitively(self) -> None:
        result = normalize_hashtags(["WW2", "#ww2"], aliases={"ww2": "WorldWarII"})
        assert texts(result) == ["WorldWarII"]

    def test_alias_spelling_wins(self) -> None:
        result = normalize_hashtags(["WorldWarIi", "worldwarii", "ww2"], aliases={"#WW2": "#WorldWarII"})
        assert texts(result) == ["WorldWarII"]

    def test_alias_keeps_position_of_first_sighting(self) -> None:
        result = normalize_hashtags(["History", "ww2", "Science"], aliases={"ww2": "WorldWarII"})
        assert texts(result) == ["History", "WorldWarII", "Science"]

    def test_blocklist_before_aliasing(self) -> None:
        result = normalize_hashtags(["spam", "History"], aliases={"spam": "Ham"}, blocklist=["SPAM"])
        assert texts(result) == ["History"]

    def test_blocklist_after_aliasing(self) -> None:
        result = normalize_hashtags(
            ["ww2", "History"], aliases={"ww2": "WorldWarII"}, blocklist=["#worldwarii"]
        )
        assert texts(result) == ["History"]

    def test_empty_tags_are_dropped(self) -> None:
        assert normalize_hashtags(["#", "  ", ""]) == ()

    def test_returns_hashtags(self) -> None:
        assert normalize_hashtags(["History"]) == (Hashtag("History"),)


class TestLimitHashtags:
    def test_keeps_first_n(self) -> None:
        all_tags = normalize_hashtags(["a", "b", "c"])
        assert texts(limit_hashtags(all_tags, 2)) == ["a", "b"]
        assert limit_hashtags(all_tags, 0) == ()

    def test_none_means_no_limit(self) -> None:
        all_tags = normalize_hashtags(["a", "b", "c"])
        assert limit_hashtags(all_tags, None) == all_tags

    def test_negative_is_rejected(self) -> None:
        with pytest.raises(ValueError, match="maximum"):
            limit_hashtags((), -1)


CLUSTER_PIECES = ["\U0001f1f2", "\U0001f1f3", "a", "\u0301", "\u200d", "\U0001f468", "\r", "\n", " "]
CLUSTER_PIECES += ["\u0600", "\ufe0f", "\uac00", "\u11a8"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CLUSTER_PIECES), max_size=16).map("".join))
def test_clusters_are_those_of_regex_x(text: str) -> None:
    assert clusters(text) == regex.findall(r"\X", text)
    assert grapheme_count(text) == len(regex.findall(r"\X", text))


def test_a_long_run_of_flag_letters_pairs_up_from_its_start() -> None:
    text = "🇲" * 20_001
    found = clusters(text)
    assert len(found) == 10_001 and found[0] == "🇲🇲" and found[-1] == "🇲"
