from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scheduler.articles import load_article_file
from scheduler.errors import ArticleError
from scheduler.models import Article, Hashtag

Write = Callable[[str, str], Path]
LoadOne = Callable[[str, str], Article]


def tags(article: Article) -> list[str]:
    return [tag.text for tag in article.hashtags]


def load_error(write: Write, tmp_path: Path, text: str, name: str = "post.md") -> ArticleError:
    with pytest.raises(ArticleError) as caught:
        load_article_file(write(name, text), root=tmp_path)
    return caught.value


def test_every_front_matter_key(load_one: LoadOne) -> None:
    article = load_one(
        "a.md",
        """
        ---
        title: Khalkhin Gol
        url: https://example.org/kg
        tags: [KhalkhinGol, "#MilitaryHistory"]
        publish_at: 2027-03-01T09:00:00+01:00
        published: 2024-05-17
        channels: [bsky, masto]
        template: short.j2
        reference: Battles of Khalkhin Gol
        explore: Georgy Zhukov
        series: Border wars
        ---

        The body.
        """,
    )
    assert article.source == "a.md"
    assert article.title == "Khalkhin Gol"
    assert article.url == "https://example.org/kg"
    assert article.hashtags == (Hashtag("KhalkhinGol"), Hashtag("MilitaryHistory"))
    assert article.publish_at == datetime(2027, 3, 1, 9, tzinfo=timezone(timedelta(hours=1)))
    assert article.published == datetime(2024, 5, 17, tzinfo=UTC)
    assert article.channels == ("bsky", "masto")
    assert article.template == "short.j2"
    assert article.reference == "Battles of Khalkhin Gol"
    assert article.explore == "Georgy Zhukov"
    assert article.extra == {"series": "Border wars"}
    assert article.body == "The body."


@pytest.mark.parametrize(
    "written", ['"#History #Science, Moon"', "History, Science Moon", "[History, '#Science', Moon]"]
)
def test_tags_as_list_or_string(load_one: LoadOne, written: str) -> None:
    article = load_one("a.md", f"---\ntitle: T\ntags: {written}\n---\nText\n")
    assert tags(article) == ["History", "Science", "Moon"]


def test_publish_at_as_string_with_z(load_one: LoadOne) -> None:
    article = load_one("a.md", '---\ntitle: T\npublish_at: "2027-01-02T03:04:05Z"\n---\n')
    assert article.publish_at == datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_published_string_and_naive_datetime_are_utc(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: T\npublished: 2024-05-17 10:30:00\n---\n")
    assert article.published == datetime(2024, 5, 17, 10, 30, tzinfo=UTC)
    article = load_one("b.md", '---\ntitle: T\npublished: "2024-05-17"\n---\n')
    assert article.published == datetime(2024, 5, 17, tzinfo=UTC)


def test_missing_optional_keys(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: T\n---\n")
    assert (article.url, article.hashtags, article.publish_at, article.published) == (None, (), None, None)
    assert (article.channels, article.template, article.body, article.extra) == (None, None, "", {})


def test_title_from_first_heading_is_removed_from_body(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\nurl: https://example.org\n---\n\n# The Title\n\nFirst paragraph.\n")
    assert article.title == "The Title"
    assert article.body == "First paragraph."


def test_no_front_matter_at_all(load_one: LoadOne) -> None:
    article = load_one("a.md", "Intro line.\n\n# The Title #\n\nText about #Science.\n")
    assert article.title == "The Title"
    assert article.body == "Intro line.\n\nText about #Science."
    assert tags(article) == ["Science"]


def test_heading_repeating_the_title_is_removed(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: Same Title\n---\n# same title\n\nText.\n")
    assert article.body == "Text."


def test_other_heading_stays_when_title_is_given(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: Front Title\n---\n# Section\n\nText.\n")
    assert article.title == "Front Title"
    assert article.body == "Section\n\nText."


def test_headings_in_code_blocks_and_hashtag_lines_are_not_titles(load_one: LoadOne) -> None:
    article = load_one("a.md", "```sh\n# not a title\n```\n#NotATitle either\n\n# Real Title\nText\n")
    assert article.title == "Real Title"


def test_body_hashtags_merge_after_front_matter_tags(load_one: LoadOne) -> None:
    article = load_one(
        "a.md",
        """
        ---
        title: T
        tags: [History, khalkhingol]
        ---
        The fight at #KhalkhinGol, known as #ХалхинГол and #ノモンハン事件, mattered. 🇲🇳

        #WorldWarII #history
        """,
    )
    assert tags(article) == ["History", "KhalkhinGol", "ХалхинГол", "ノモンハン事件", "WorldWarII"]
    assert article.body == "The fight at #KhalkhinGol, known as #ХалхинГол and #ノモンハン事件, mattered. 🇲🇳"


def test_several_closing_tag_lines_are_removed(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: T\n---\nText.\n\n#One, #Two\n#Three.\n\n")
    assert article.body == "Text."
    assert tags(article) == ["One", "Two", "Three"]


def test_a_line_with_words_and_tags_stays(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: T\n---\nText.\n\nMore on #History\n")
    assert article.body == "Text.\n\nMore on #History"


def test_aliases_and_blocklist(write: Write, tmp_path: Path) -> None:
    path = write("a.md", "---\ntitle: T\ntags: [ww2, spam, Science]\n---\nText #SPAM #WorldWarII\n")
    [article] = load_article_file(path, root=tmp_path, aliases={"WW2": "WorldWarII"}, blocklist=["spam"])
    assert tags(article) == ["WorldWarII", "Science"]


def test_title_as_number_is_text(load_one: LoadOne) -> None:
    assert load_one("a.md", "---\ntitle: 1984\n---\n").title == "1984"


def test_bom_and_windows_line_ends(write: Write, tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes("\ufeff---\r\ntitle: T\r\ntags: [A]\r\n---\r\nBody\r\n".encode())
    [article] = load_article_file(path, root=tmp_path)
    assert (article.title, article.body, tags(article)) == ("T", "Body", ["A"])


class TestErrors:
    def test_yaml_error_line_is_offset_by_front_matter_position(self, write: Write, tmp_path: Path) -> None:
        error = load_error(
            write, tmp_path, "---\ntitle: T\nurl: https://x.org\nsubtitle: War: a story\n---\n"
        )
        assert (error.source, error.line) == ("post.md", 4)
        assert "mapping values" in error.message
        assert error.hint is not None and "quote" in error.hint

    def test_yaml_error_in_a_flow_list(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\ntags: [a, b\nurl: x\n---\n")
        assert error.line == 4
        assert "invalid front matter" in error.message
        assert "(it starts on line 3)" in error.message
        assert error.hint is not None and "]" in error.hint

    def test_tags_of_wrong_type(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\n\ntags: 5\n---\n")
        assert error.line == 4
        assert error.message == "post.md:4: tags: expected a list or a string of hashtags, got a number"
        assert error.hint is not None and "tags: [" in error.hint

    @pytest.mark.parametrize("tag", ["123", "World War", "tag!"])
    def test_tag_that_is_not_a_hashtag(self, write: Write, tmp_path: Path, tag: str) -> None:
        error = load_error(write, tmp_path, f"---\ntitle: T\ntags: ['{tag}']\n---\n")
        assert error.line == 3
        assert repr(tag) in error.message

    def test_keys_merged_from_an_anchor_point_at_the_front_matter(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\nbase: &b {tags: 5}\n<<: *b\n---\n")
        assert error.line == 2
        assert "tags: expected a list" in error.message

    def test_tags_commented_out_by_yaml(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\ntags: #History #Science\n---\n")
        assert error.line == 3
        assert "comment" in error.message

    @pytest.mark.parametrize(
        ("value", "words"),
        [
            ('"tomorrow-ish"', "not an ISO 8601"),
            ("9999-12-31T23:00:00-05:00", "the year 9999 is out of range"),
            ("2027-03-01", "a date without a time"),
            ("[1, 2]", "got a list"),
        ],
    )
    def test_bad_publish_at(self, write: Write, tmp_path: Path, value: str, words: str) -> None:
        error = load_error(write, tmp_path, f"---\ntitle: T\nurl: https://x.org\npublish_at: {value}\n---\n")
        assert error.line == 4
        assert words in error.message
        assert error.hint is not None and "+01:00" in error.hint

    def test_bad_published(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\npublished: last spring\n---\n")
        assert error.line == 3
        assert error.hint is not None and "2024-05-17" in error.hint

    def test_missing_title_points_into_front_matter(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\nurl: https://x.org\n---\nNo heading here.\n")
        assert error.line == 2
        assert "no title" in error.message
        assert error.hint is not None and "title:" in error.hint

    def test_missing_title_without_front_matter(self, write: Write, tmp_path: Path) -> None:
        assert load_error(write, tmp_path, "Just text.\n").line == 1

    def test_empty_title_points_at_its_key(self, write: Write, tmp_path: Path) -> None:
        assert load_error(write, tmp_path, "---\nurl: https://x.org\ntitle:\n---\n").line == 3

    def test_title_of_wrong_type(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: [a, b]\n---\n")
        assert (error.line, error.message) == (2, "post.md:2: title: expected text, got a list")

    def test_unclosed_front_matter(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\n\nText\n")
        assert error.line == 1
        assert "not closed" in error.message

    def test_front_matter_that_is_not_a_mapping(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\n- a\n- b\n---\n")
        assert error.line == 2

    def test_bad_url(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\nurl: example dot org\n---\n")
        assert error.line == 3
        assert error.hint is not None and "https://" in error.hint

    def test_bad_channels(self, write: Write, tmp_path: Path) -> None:
        error = load_error(write, tmp_path, "---\ntitle: T\nchannels: [1, 2]\n---\n")
        assert error.line == 3
        assert "channel names" in error.message


def test_a_title_yaml_reads_as_a_date_is_the_date_as_written(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: 2024-05-17\n---\nText.\n")
    assert article.title == "2024-05-17"
