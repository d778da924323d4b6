"""Feeds read as articles: the four formats, by content, through the same checks as every article."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scheduler.articles import load_articles
from scheduler.articles.feed import category_tag, looks_like_feed
from scheduler.articles.htmltext import _TextParser, html_to_text
from scheduler.cli.app import app
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import WRITERS, FeedEntry, rss2

SUMMARY = (
    "<p>On 20 August 1939 Zhukov&#8217;s <b>offensive</b> began &amp; encircled the 6th Army.</p>"
    "<p>Битва на Халхин-Голе <i>ended</i> on 16 September.</p><script>alert(1)</script>"
)
ENTRIES = [
    FeedEntry(
        guid="urn:moment:1",
        title="Khalkhin Gol &amp; after",
        link="https://history.example/moments/1",
        summary=SUMMARY,
        categories=("Khalkhin Gol", "military-history", "khalkhingol", "1939"),
        image="https://history.example/img/1.jpg",
    ),
    FeedEntry(
        guid="urn:moment:2",
        title="The Antikythera mechanism",
        link="https://history.example/moments/2",
        summary="A bronze computer <em>from</em> 100 BC.",
        categories=("Science", "spam"),
    ),
]


def write_feed(tmp_path: Path, kind: str, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(WRITERS[kind](ENTRIES))
    return path


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_every_format_gives_the_same_articles(tmp_path: Path, kind: str) -> None:
    path = write_feed(tmp_path, kind, "history.data")  # recognised by content, not by its name
    result = load_articles([path], root=tmp_path, aliases={"science": "ScienceHistory"}, blocklist=["spam"])
    assert result.errors == []
    first, second = result.articles
    assert first.source == "history.data#urn:moment:1"
    assert first.title == "Khalkhin Gol & after"
    assert first.url == "https://history.example/moments/1"
    assert first.body == (
        "On 20 August 1939 Zhukov’s offensive began & encircled the 6th Army.\n\n"
        "Битва на Халхин-Голе ended on 16 September."
    )
    assert [tag.text for tag in first.hashtags] == ["KhalkhinGol", "MilitaryHistory"]
    assert first.id == "urn:moment:1"
    assert first.published is not None and first.published.year == 2026
    expected_image = None if kind == "rss1" else "https://history.example/img/1.jpg"
    assert first.extra.get("image") == expected_image
    assert [tag.text for tag in second.hashtags] == ["ScienceHistory"]
    assert second.body == "A bronze computer from 100 BC."


def test_no_tag_or_entity_reaches_a_post(tmp_path: Path, make_workspace: WriteWorkspace) -> None:
    root = make_workspace('[channels.file]\nnetwork = "file"\n')
    path = write_feed(root, "atom", "feed.atom")
    result = CliRunner().invoke(app, ["preview", "--json", "--config", str(root), str(path)])
    assert result.exit_code == 0, result.stderr
    posts = json.loads(result.stdout)
    assert len(posts) == 2
    for post in posts:
        assert post["problems"] == []
        for part in post["parts"]:
            assert "<" not in part and "&amp;" not in part and "&#" not in part
    assert "#KhalkhinGol" in posts[0]["parts"][0]


def test_check_names_a_broken_feed_and_its_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace('[channels.file]\nnetwork = "file"\n')
    data = rss2(ENTRIES)
    (root / "cut.xml").write_bytes(data[: len(data) // 2])
    result = CliRunner().invoke(app, ["check", "--config", str(root), str(root / "cut.xml")])
    assert result.exit_code == 1
    assert "cut.xml:" in result.stderr and "invalid XML" in result.stderr


def test_a_bad_entry_is_one_problem_and_the_others_still_load(tmp_path: Path) -> None:
    bad = FeedEntry("urn:bad", "Bad link", "ftp://history.example/x", "Text.")
    path = tmp_path / "feed.json"
    path.write_bytes(WRITERS["jsonfeed"]([bad, ENTRIES[1]]))
    result = load_articles([path], root=tmp_path)
    assert [article.id for article in result.articles] == ["urn:moment:2"]
    [error] = result.errors
    assert error.source == "feed.json#urn:bad"
    assert "entry 'urn:bad': url: 'ftp://history.example/x' is not a web address" in str(error)


def test_an_entry_without_a_title_takes_the_start_of_its_text(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    entry = FeedEntry("g1", "", "https://history.example/1", "<p>Short note.</p><p>More.</p>")
    path.write_bytes(rss2([entry]))
    [article] = load_articles([path], root=tmp_path).articles
    assert article.title == "Short note."


def test_a_json_article_list_is_not_a_feed(tmp_path: Path) -> None:
    assert looks_like_feed(b'[{"title": "x", "body": "y"}]') is None
    assert looks_like_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}') == "json"
    assert looks_like_feed(b"<?xml version='1.0'?><!-- c --><rdf:RDF xmlns:rdf='x'/>") == "rdf"
    assert looks_like_feed(b"<html><body/></html>") is None


def test_categories_become_camel_case_hashtags() -> None:
    assert category_tag("Khalkhin Gol") == "KhalkhinGol"
    assert category_tag("world war II") == "WorldWarII"
    assert category_tag("Soviet–Japanese border") == "SovietJapaneseBorder"
    assert category_tag("#History") == "History"
    assert category_tag("ノモンハン事件") == "ノモンハン事件"
    assert category_tag("1939") is None
    assert category_tag("C++") == "C"


def test_html_to_text_keeps_paragraphs_and_line_breaks() -> None:
    assert html_to_text("<ul><li>one</li><li>two</li></ul>x<br/>y") == "one\n\ntwo\n\nx\ny"
    assert html_to_text("&lt;p&gt;Twice &amp;amp; escaped&lt;/p&gt;") == "Twice & escaped"
    assert html_to_text("<style>p{}</style><p>a\n  b</p>") == "a b"


def test_an_unreadable_date_does_not_lose_the_entry() -> None:
    from scheduler.articles.feed import FeedEntry as Entry
    from scheduler.articles.feed import entry_article

    entry = Entry(
        "g", "Bayeux", "https://history.example/b", "<p>Tapestry.</p>", published="sometime in 1070"
    )
    article = entry_article(entry, file="feed.xml")
    assert (article.title, article.published) == ("Bayeux", None)


def test_newest_first_compares_dates_not_text() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from scheduler.articles.feed import FeedEntry as Entry
    from scheduler.articles.feed import newest_first

    early = datetime(2026, 12, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5)))  # 2026-12-02 04:00 UTC
    late = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    entries = [
        Entry("undated", "u", None, ""),
        Entry("late", "l", None, "", published=late.isoformat()),
        Entry("early", "e", None, "", published=early.isoformat()),
    ]
    assert [entry.identity for entry in newest_first(entries)] == ["early", "late", "undated"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(st.sampled_from(list("ab \n\t\r\x00\x01\u00a0Б👩\u200d;#x")), max_size=30))
def test_text_without_tags_or_references_is_what_the_parser_makes_of_it(text: str) -> None:
    parsed = _TextParser()
    parsed.feed(text)
    parsed.close()
    wrapped = html_to_text(f"<span>{text}</span>")  # a tag: through the parser
    assert html_to_text(text) == wrapped
    assert "".join(parsed.out) == text.replace("\x00", "").replace("\x01", "")
