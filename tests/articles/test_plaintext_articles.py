from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.articles import load_article_file
from scheduler.articles.plaintext import is_noise
from scheduler.errors import ArticleError
from scheduler.models import Article

LoadOne = Callable[[str, str], Article]

SAMPLE = Path("/work/shared/samples/article-plain-text.txt")
SAMPLE_NOISE = ("MoofLife logo", "| Military", "Updated By:", "Published:", "Updated:", "4 min read")


def tags(article: Article) -> list[str]:
    return [tag.text for tag in article.hashtags]


@pytest.mark.skipif(not SAMPLE.exists(), reason=f"the real sample article {SAMPLE} is not on this machine")
def test_the_real_sample() -> None:
    [article] = load_article_file(SAMPLE, root=SAMPLE.parent)
    assert article.source == "article-plain-text.txt"
    assert article.title == "Stalin's Role in Khalkhin Gol Battles"
    assert article.body.startswith(
        "The Battles of Khalkhin Gol were a series of conflicts between Soviet and Japanese forces"
    )
    assert article.body.endswith(
        "illustrating the complex interplay of military strategy and international relations during this "
        "tumultuous period."
    )
    for noise in (*SAMPLE_NOISE, "#", "Primary Reference", "Explore the Life Moments", article.title):
        assert noise not in article.body
    assert "\n" not in article.body
    assert tags(article) == [
        "mooflife",
        "MomentOfLife",
        "Stalin",
        "KhalkhinGol",
        "SovietUnion",
        "JapaneseExpansionism",
        "MilitaryHistory",
    ]
    assert article.reference == "Battles of Khalkhin Gol"
    assert article.explore == "Joseph Stalin"
    assert article.url is None


def test_preferred_spelling_across_tag_lines(load_one: LoadOne) -> None:
    article = load_one("a.txt", "Title\n\nBody #khalkhingol text.\n#KHALKHINGOL #KhalkhinGol #stalin\n")
    assert tags(article) == ["KhalkhinGol", "stalin"]


@pytest.mark.parametrize(
    "line",
    [
        "MoofLife logo",
        "Site Name logo",
        "\u00a0| Military\u00a0|",
        "| Science | Space |",
        "Home | World War II",
        "Updated By:\u00a0 History Editorial Network (HEN)",
        "Written by: Jane Doe",
        "Published:\u00a0 | Updated:",
        "Published: 12 May 2024 | Updated: 13 May 2024",
        "Published: 2024-05-12",
        "Updated: May 13, 2024",
        "4 min read",
        "12 minutes read",
        "1 min read",
    ],
)
def test_noise_lines(line: str) -> None:
    assert is_noise(line)


@pytest.mark.parametrize(
    "line",
    [
        "The Battles of Khalkhin Gol were a series of conflicts.",
        "Military",
        "An unusual | separated sentence with many words in it | here",
        "Explore the Life Moments of Joseph Stalin |",
        "Read it in 4 min read",
        "A new logo for the army was designed in 1940",
    ],
)
def test_not_noise(line: str) -> None:
    assert not is_noise(line)


def test_header_noise_dropped_and_unknown_header_line_kept(load_one: LoadOne) -> None:
    article = load_one(
        "a.txt",
        """
        Title Here
        Science Daily logo
         | Science | Space |
        A short standfirst the site wrote.
        Updated By: Someone
        Published: 1 May 2024 | Updated: 2 May 2024
        5 min read

        First paragraph.

        Second paragraph
        over two lines.
        """,
    )
    assert article.title == "Title Here"
    assert article.body == (
        "A short standfirst the site wrote.\n\nFirst paragraph.\n\nSecond paragraph\nover two lines."
    )


def test_noise_looking_lines_after_the_body_stay_body(load_one: LoadOne) -> None:
    article = load_one("a.txt", "Title\n\nBody starts.\n\n4 min read\nFrom | A | B\n")
    assert article.body == "Body starts.\n\n4 min read\nFrom | A | B"


def test_fields_and_url_line(load_one: LoadOne) -> None:
    article = load_one(
        "a.txt",
        """
        Title
        URL: https://example.org/article?id=1

        Body text with an inline #Tag in it.
        #One #Two
        Primary Reference: Some Battle
        Explore the Life Moments of Some Person |
        """,
    )
    assert article.url == "https://example.org/article?id=1"
    assert article.body == "Body text with an inline #Tag in it."
    assert tags(article) == ["One", "Two", "Tag"]
    assert (article.reference, article.explore) == ("Some Battle", "Some Person")


def test_bare_url_line(load_one: LoadOne) -> None:
    article = load_one("a.txt", "Title\n\nBody.\nhttps://example.org/x\n")
    assert (article.url, article.body) == ("https://example.org/x", "Body.")


def test_explore_without_trailing_bar(load_one: LoadOne) -> None:
    assert load_one("a.txt", "T\n\nB\nExplore the Life Moments of Ada Lovelace\n").explore == "Ada Lovelace"


def test_title_only(load_one: LoadOne) -> None:
    article = load_one("a.txt", "\n\nJust a title\n")
    assert (article.title, article.body, article.hashtags) == ("Just a title", "", ())


def test_aliases_and_blocklist(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("T\n\nBody.\n#mooflife #ww2 #History\n", encoding="utf-8")
    [article] = load_article_file(path, root=tmp_path, aliases={"ww2": "WorldWarII"}, blocklist={"MoofLife"})
    assert tags(article) == ["WorldWarII", "History"]


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ArticleError) as caught:
        load_article_file(path, root=tmp_path)
    assert (caught.value.source, caught.value.line) == ("empty.txt", 1)
    assert caught.value.hint
