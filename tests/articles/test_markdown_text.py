"""Markdown bodies are posted as plain text: what a reader of the post should see, not the markup."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.articles import load_articles
from scheduler.articles.mdtext import markdown_text
from scheduler.models import Article

LoadOne = Callable[[str, str], Article]
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("A hard-wrapped\nparagraph goes\non.", "A hard-wrapped paragraph goes on."),
        ("One.\n\nTwo.\n\n\n\nThree.", "One.\n\nTwo.\n\nThree."),
        ("A **bold** and _em_ and *em* word.", "A bold and em and em word."),
        ("Run `tagcast check` first.", "Run tagcast check first."),
        ("See [the map](https://example.org/map).", "See the map (https://example.org/map)."),
        ("See <https://example.org/map>.", "See https://example.org/map."),
        ("[https://example.org](https://example.org)", "https://example.org"),
        ("[example.org](https://example.org/)", "https://example.org/"),
        ("[the about page](/about)", "the about page"),
        ("![A map of the front](map.png)", "A map of the front"),
        ("- one\n- two\n* three", "• one\n• two\n\n• three"),
        ("1. first\n2. second", "1. first\n2. second"),
        ("3) third\n4) fourth", "3) third\n4) fourth"),
        ("- outer\n  - inner\n- next", "• outer\n  • inner\n• next"),
        ("> Never was so much\n> owed by so many.", "“Never was so much owed by so many.”"),
        ("## A section\n\nText.", "A section\n\nText."),
        ("```\ncode  stays\n  as is\n```", "code  stays\n  as is"),
        ("Line one  \nline two", "Line one\nline two"),
        ("Fish &amp; chips \\*not bold\\*", "Fish & chips *not bold*"),
        ("~~old~~ new", "old new"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "a | b\n1 | 2"),
        ("Text about #KhalkhinGol and #WWII.", "Text about #KhalkhinGol and #WWII."),
        ("#NotAHeading starts this line", "#NotAHeading starts this line"),
        ("", ""),
    ],
)
def test_markdown_becomes_plain_text(markdown: str, text: str) -> None:
    assert markdown_text(markdown) == text


def test_a_markdown_article_is_posted_as_text(load_one: LoadOne) -> None:
    article = load_one(
        "a.md",
        """
        ---
        title: Khalkhin Gol
        ---
        The **Battles of Khalkhin Gol** were fought in 1939
        on the border of Mongolia and Manchukuo. See [the map](https://example.org/map).

        - Soviet and Mongolian forces
        - Japanese forces

        #KhalkhinGol #History
        """,
    )
    assert article.body == (
        "The Battles of Khalkhin Gol were fought in 1939 on the border of Mongolia and Manchukuo. "
        "See the map (https://example.org/map).\n\n• Soviet and Mongolian forces\n• Japanese forces"
    )
    assert [tag.text for tag in article.hashtags] == ["KhalkhinGol", "History"]


def test_a_closing_hashtag_line_right_under_the_text_is_still_moved_out(load_one: LoadOne) -> None:
    article = load_one("a.md", "---\ntitle: T\n---\nA wrapped\nparagraph.\n#One #Two\n")
    assert article.body == "A wrapped paragraph."
    assert [tag.text for tag in article.hashtags] == ["One", "Two"]


def test_the_title_heading_may_hold_markup(load_one: LoadOne) -> None:
    article = load_one("a.md", "# The *Battle* of `Nomonhan`\n\nText.\n")
    assert article.title == "The Battle of Nomonhan"
    assert article.body == "Text."


def test_the_readme_article_loads_as_printed(tmp_path: Path) -> None:
    readme = README.read_text(encoding="utf-8")
    example = re.search(r"```markdown\n(---\n.*?)```", readme, re.DOTALL)
    assert example is not None
    (tmp_path / "posts").mkdir()
    (tmp_path / "posts" / "nomonhan.md").write_text(example.group(1), encoding="utf-8")
    result = load_articles([tmp_path / "posts"], root=tmp_path, channels={"file", "bluesky"})

    assert result.errors == []
    [article] = result.articles
    assert article.title == "The Nomonhan incident in one picture"
    assert article.channels == ("file", "bluesky")
    assert "\n" not in article.body  # the hard-wrapped paragraph is one line
    assert article.body.startswith("Body text. #hashtags written in the text count too, and a last line")
