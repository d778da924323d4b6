from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st
from render_examples import context_for, khalkhin_gol, tags

from scheduler.hashtags import find_hashtags, grapheme_count
from scheduler.models import Hashtag
from scheduler.render import FILTERS, TemplateRenderer
from scheduler.render.cutting import sentences, truncate_words
from scheduler.render.filters import camel, escape_html, escape_markdown_v2, escape_mrkdwn, hashtags

URL = regex.compile(r"https?://\S+")


class TestHashtags:
    def test_all_tags_by_default(self) -> None:
        assert hashtags(tags("KhalkhinGol", "Stalin")) == "#KhalkhinGol #Stalin"

    def test_limit_keeps_the_first(self) -> None:
        assert hashtags(tags("A1", "B2", "C3", "D4"), 2) == "#A1 #B2"

    def test_limit_zero_and_negative_give_nothing(self) -> None:
        assert hashtags(tags("A1"), 0) == ""
        assert hashtags(tags("A1"), -1) == ""

    def test_skips_tags_already_in_the_text_case_insensitively(self) -> None:
        body = "How #stalin shaped the battle"
        assert hashtags(tags("Stalin", "KhalkhinGol"), skip_in=body) == "#KhalkhinGol"

    def test_limit_counts_only_written_tags(self) -> None:
        body = "About #Stalin and #KHALKHINGOL."
        written = hashtags(tags("Stalin", "KhalkhinGol", "SovietUnion", "WW2", "MilitaryHistory"), 2, body)
        assert written == "#SovietUnion #WW2"

    def test_non_latin_tags_skip_and_limit(self) -> None:
        body = "Бои на #халхингол, #STRASSE und #ノモンハン事件."
        chosen = tags("ХалхинГол", "Straße", "ノモンハン事件", "歴史", "Монголия", "Extra")
        assert hashtags(chosen, skip_in=body) == "#歴史 #Монголия #Extra"
        assert hashtags(chosen, 1, skip_in=body) == "#歴史"

    def test_a_word_is_not_a_hashtag(self) -> None:
        assert hashtags(tags("Stalin"), skip_in="Stalin and a#Stalin") == "#Stalin"

    def test_strings_with_or_without_hash_and_duplicates(self) -> None:
        assert hashtags(["#Moment", "moment", "Other", Hashtag("OTHER")]) == "#Moment #Other"

    def test_separator(self) -> None:
        assert hashtags(tags("A1", "B2"), sep="\n") == "#A1\n#B2"

    def test_none_gives_nothing(self) -> None:
        assert hashtags(None) == ""

    @given(st.lists(st.sampled_from(["Aa", "aA", "Bb", "Дд", "дД", "日本"]), max_size=8), st.integers(0, 5))
    def test_never_more_than_limit_and_never_twice(self, names: list[str], limit: int) -> None:
        written = hashtags(tags(*names), limit).split()
        assert len(written) <= limit
        assert len({tag.casefold() for tag in written}) == len(written)


class TestSentences:
    def test_first_n(self) -> None:
        text = "One is here. Two is there! Three? Four."
        assert sentences(text, 1) == "One is here."
        assert sentences(text, 3) == "One is here. Two is there! Three?"

    def test_fewer_sentences_than_asked_gives_all(self) -> None:
        assert sentences("  Only one. ", 5) == "Only one."

    def test_zero_gives_nothing(self) -> None:
        assert sentences("One. Two.", 0) == ""

    def test_abbreviations_and_initials(self) -> None:
        text = "Dr. Smith met J. R. Tolkien e.g. in the U.S. in 1939. It rained."
        assert sentences(text, 1) == "Dr. Smith met J. R. Tolkien e.g. in the U.S. in 1939."

    def test_lower_case_after_a_full_stop_continues_the_sentence(self) -> None:
        text = "It was approx. five km… and then more. Next."
        assert sentences(text, 1) == "It was approx. five km… and then more."

    def test_not_inside_a_url(self) -> None:
        text = "See https://example.com/a.b?c=1. Then more. End."
        assert sentences(text, 1) == "See https://example.com/a.b?c=1."

    def test_closing_quotes_stay_with_their_sentence(self) -> None:
        assert sentences('He said "Stop." Then he left.', 1) == 'He said "Stop."'

    def test_cjk_full_stops(self) -> None:
        assert sentences("1939年に衝突した。戦闘は九月に終わった。", 1) == "1939年に衝突した。"

    def test_blank_line_ends_a_sentence(self) -> None:
        assert sentences("A heading\n\nThe text. More.", 1) == "A heading"

    def test_sample_body(self) -> None:
        first = sentences(khalkhin_gol().body, 1)
        assert first.startswith("The Battles of Khalkhin Gol")
        assert first.endswith("in East Asia.")

    def test_none(self) -> None:
        assert sentences(None, 2) == ""


class TestTruncateWords:
    def test_text_that_fits_is_unchanged(self) -> None:
        assert truncate_words("short text ", 11) == "short text "

    def test_cuts_at_a_word_boundary_with_the_end_mark(self) -> None:
        assert truncate_words("The quick brown fox", 12) == "The quick…"

    def test_custom_end(self) -> None:
        assert truncate_words("The quick brown fox", 15, end=" [...]") == "The quick [...]"

    def test_drops_dangling_punctuation(self) -> None:
        assert truncate_words("First, second; third", 9) == "First…"

    def test_never_cuts_a_url(self) -> None:
        text = "Read https://example.com/a/very/long/path?with=query and more"
        for length in range(1, len(text)):
            cut = truncate_words(text, length)
            assert "https://" not in cut or "https://example.com/a/very/long/path?with=query" in cut

    def test_never_cuts_a_hashtag(self) -> None:
        text = "Moments of #KhalkhinGolBattles in history"
        assert truncate_words(text, 25) == "Moments of…"
        assert truncate_words(text, 36) == "Moments of #KhalkhinGolBattles in…"

    def test_counts_graphemes(self) -> None:
        family = "👨\u200d👩\u200d👧\u200d👦"
        assert truncate_words(f"{family} {family} {family} end", 4) == f"{family} {family}…"
        assert truncate_words("e\u0301te\u0301 word", 6) == "e\u0301te\u0301…"

    def test_text_without_spaces_is_cut_between_graphemes(self) -> None:
        assert truncate_words("ハルハ河で日ソ両軍が衝突した", 6) == "ハルハ河で…"

    def test_nothing_that_fits_gives_empty(self) -> None:
        assert truncate_words("https://example.com/abcdefghijklmnop", 10) == ""
        assert truncate_words("#KhalkhinGolBattles", 10) == ""
        assert truncate_words("anything at all", 0) == ""

    @given(
        st.lists(
            st.sampled_from(
                ["word", "Wörter", "日本語", "#Tag", "#ХалхинГол", "https://x.org/a?b", "👍🏽", "."]
            ),
            max_size=12,
        ).map(" ".join),
        st.integers(0, 60),
    )
    def test_properties(self, text: str, length: int) -> None:
        cut = truncate_words(text, length)
        assert grapheme_count(cut) <= max(length, 0)
        if cut == text:
            return
        kept = cut.removesuffix("…")
        assert text.startswith(kept)
        for url in URL.finditer(text):
            assert not url.start() < len(kept) < url.end()
        for tag in find_hashtags(text):
            assert not tag.start < len(kept) < tag.end


class TestCamel:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Khalkhin Gol", "KhalkhinGol"),
            ("khalkhin gol", "KhalkhinGol"),
            ("Stalin's role, 1939", "StalinsRole1939"),
            ("Sino-Japanese war", "SinoJapaneseWar"),
            ("Халхин-Гол битва", "ХалхинГолБитва"),
            ("ノモンハン 事件", "ノモンハン事件"),
            ("World War II", "WorldWarII"),
            ("", ""),
        ],
    )
    def test_words_joined(self, text: str, expected: str) -> None:
        assert camel(text) == expected


class TestEscapes:
    def test_markdown_v2_escapes_every_reserved_character(self) -> None:
        reserved = "\\_*[]()~`>#+-=|{}.!"
        assert escape_markdown_v2(reserved + "a") == "".join(f"\\{char}" for char in reserved) + "a"

    def test_markdown_v2_inside_code_and_links(self) -> None:
        assert escape_markdown_v2("a`b\\c)d.e", "code") == "a\\`b\\\\c)d.e"
        assert escape_markdown_v2("https://x.org/a_(b)", "link") == "https://x.org/a_(b\\)"

    def test_markdown_v2_unknown_entity(self) -> None:
        with pytest.raises(ValueError, match="unknown entity"):
            escape_markdown_v2("x", "bold")

    def test_html_and_mrkdwn_escape_amp_lt_gt_only(self) -> None:
        text = "3 < 4 & 5 > 2 \"quoted\" 'single'"
        expected = "3 &lt; 4 &amp; 5 &gt; 2 \"quoted\" 'single'"
        assert escape_html(text) == expected
        assert escape_mrkdwn(text) == expected

    def test_none_is_empty(self) -> None:
        assert escape_html(None) == escape_mrkdwn(None) == escape_markdown_v2(None) == camel(None) == ""


class TestRegistered:
    def test_every_filter_is_documented_with_an_example(self) -> None:
        for name, function in FILTERS.items():
            assert function.__doc__ and "{{" in function.__doc__, name

    def test_filters_work_in_templates(
        self, renderer: TemplateRenderer, write: Callable[[str, str], Path]
    ) -> None:
        write(
            "filters.j2",
            "{{ tags | hashtags(2, skip_in=body) }}|{{ body | sentences(1) }}"
            "|{{ title | truncate_words(12) }}|{{ 'Khalkhin Gol' | camel }}"
            "|{{ '<b>' | escape_html }}|{{ '1.5' | escape_markdown_v2 }}",
        )
        article = khalkhin_gol()
        text = renderer.render("filters.j2", context_for(article, body="A #Stalin story. Second."))
        assert text == "#mooflife #MomentOfLife|A #Stalin story.|Stalin's…|KhalkhinGol|&lt;b&gt;|1\\.5"
