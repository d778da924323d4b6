from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scheduler.articles import load_article_file
from scheduler.errors import ArticleError

Write = Callable[[str, str], Path]


def load_error(write: Write, tmp_path: Path, text: str) -> ArticleError:
    with pytest.raises(ArticleError) as caught:
        load_article_file(write("items.json", text), root=tmp_path)
    return caught.value


def test_one_object(write: Write, tmp_path: Path) -> None:
    path = write(
        "one.json",
        """
        {"title": "Eratosthenes", "url": "https://example.org/e", "tags": ["Science", "#History"],
         "body": "He measured the Earth. #Astronomy", "published": "2024-06-21",
         "publish_at": "2027-06-21T12:00:00Z", "channels": ["bsky"], "source_book": "Geographika"}
        """,
    )
    [article] = load_article_file(path, root=tmp_path)
    assert article.source == "one.json"
    assert article.title == "Eratosthenes"
    assert article.body == "He measured the Earth. #Astronomy"
    assert [tag.text for tag in article.hashtags] == ["Science", "History", "Astronomy"]
    assert article.published == datetime(2024, 6, 21, tzinfo=UTC)
    assert article.publish_at == datetime(2027, 6, 21, 12, tzinfo=UTC)
    assert article.channels == ("bsky",)
    assert article.extra == {"source_book": "Geographika"}


def test_list_sources_are_numbered(write: Write, tmp_path: Path) -> None:
    path = write(
        "items.json",
        """
        [
          {"title": "A", "body": "Text a"},
          {"title": "B", "summary": "Text b", "tags": "#Science DNA"},
          {"title": "C", "text": "Text c\\n\\n#Closing #Tags"}
        ]
        """,
    )
    articles = load_article_file(path, root=tmp_path)
    assert [article.source for article in articles] == ["items.json#0", "items.json#1", "items.json#2"]
    assert [article.body for article in articles] == ["Text a", "Text b", "Text c"]
    assert [tag.text for tag in articles[1].hashtags] == ["Science", "DNA"]
    assert [tag.text for tag in articles[2].hashtags] == ["Closing", "Tags"]


def test_body_wins_over_summary_which_goes_to_extra(write: Write, tmp_path: Path) -> None:
    path = write("a.json", '{"title": "A", "summary": "short", "body": "long"}')
    [article] = load_article_file(path, root=tmp_path)
    assert article.body == "long"
    assert article.extra == {"summary": "short"}


def test_empty_list(write: Write, tmp_path: Path) -> None:
    assert load_article_file(write("a.json", "[]"), root=tmp_path) == []


def test_invalid_json_names_the_line(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '[\n  {"title": "A", "body": "x"}\n  {"title": "B"}\n]\n')
    assert (error.source, error.line) == ("items.json", 3)
    assert "Expecting ',' delimiter" in error.message
    assert error.hint is not None and "comma" in error.hint


def test_trailing_comma(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '{\n  "title": "A",\n  "body": "x",\n}\n')
    assert error.line == 4
    assert error.hint is not None and "comma" in error.hint


def test_wrong_type_names_the_key_line_in_a_list(write: Write, tmp_path: Path) -> None:
    error = load_error(
        write,
        tmp_path,
        """
        [
          {"title": "A", "body": "x", "tags": ["ok"]},
          {
            "title": "B: with [brackets] and {braces}, \\"quotes\\"",
            "nested": {"tags": 1, "list": [1, {"x": 2}]},
            "body": "y",
            "tags": 5
          }
        ]
        """,
    )
    assert (error.source, error.line) == ("items.json", 7)
    assert "tags: expected a list or a string of hashtags" in error.message


def test_bad_date_in_a_single_object(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '{\n"title": "A",\n"body": "x",\n"publish_at": "tomorrow-ish"\n}')
    assert error.line == 4
    assert error.hint is not None and "ISO 8601" in error.hint


def test_missing_title_points_at_the_object(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '[\n{"title": "A", "body": "x"},\n\n{"body": "y"}\n]')
    assert error.line == 4
    assert "no title" in error.message


def test_missing_body(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '[\n  {"title": "A", "content": "x"}\n]')
    assert error.line == 2
    assert "items.json#0: the article has no text" in error.message
    assert error.hint is not None and '"body"' in error.hint


def test_body_of_wrong_type(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '{\n  "title": "A",\n  "body": ["x"]\n}')
    assert error.line == 3


def test_entry_that_is_not_an_object(write: Write, tmp_path: Path) -> None:
    error = load_error(write, tmp_path, '[\n  {"title": "A", "body": "x"},\n  "oops"\n]')
    assert error.line == 3
    assert "items.json#1: expected an article object" in error.message


def test_top_level_scalar(write: Write, tmp_path: Path) -> None:
    assert load_error(write, tmp_path, "42").line == 1
