"""A long feed is read some items at a time (``iter_feed_entries``): the same entries, in the same order, as
the whole feed parsed at once; a feed whose items cannot be told apart safely is read whole."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes.feeds import FeedEntry, atom, rss1, rss2

from scheduler.articles.feed import _item_spans, iter_feed_entries, load_feed, parse_feed


def made(count: int) -> list[FeedEntry]:
    return [
        FeedEntry(
            guid=f"urn:t:{index}",
            title=f"Moment {index}",
            link=f"https://history.example/{index}",
            summary=f"<p>Day {index} &amp; <b>night</b> 👩‍👩‍👧</p>",
            categories=("Khalkhin Gol", "History")[: index % 3],
            image=f"https://history.example/{index}.jpg" if index % 2 else None,
        )
        for index in range(count)
    ]


@pytest.mark.parametrize("build", [rss2, rss1, atom], ids=["rss2", "rss1", "atom"])
def test_a_long_feed_read_in_parts_gives_the_entries_of_the_whole(build: Callable[..., bytes]) -> None:
    data = build(made(23))
    whole = parse_feed(data, source="feed.xml").entries
    parts = list(iter_feed_entries(data, source="feed.xml", chunk=5))
    assert len(whole) == 23
    assert parts == whole
    spans = _item_spans(data, b"entry" if build is atom else b"item")
    assert spans is not None and len(spans) == 23


def test_the_articles_of_a_feed_read_in_parts_are_those_of_the_whole() -> None:
    data = rss2(made(450))
    articles, errors = load_feed(data, source="feed.xml")
    assert errors == []
    assert [article.title for article in articles] == [f"Moment {index}" for index in range(450)]
    assert [tag.text for tag in articles[7].hashtags] == ["KhalkhinGol"]


@pytest.mark.parametrize(
    ("between", "expected"),
    [
        ("\n", 3),  # white space between items: cut
        ("<!-- <item>not one</item> -->", None),  # a comment between items: read whole
        ("<extra/>", None),  # another element between items: read whole
    ],
)
def test_items_are_cut_only_when_they_follow_one_another(between: str, expected: int | None) -> None:
    data = rss2(made(3)).replace(b"</item>\n<item>", f"</item>{between}<item>".encode())
    spans = _item_spans(data, b"item")
    assert (len(spans) if spans is not None else None) == expected
    assert list(iter_feed_entries(data, source="feed.xml", chunk=1)) == parse_feed(data, source="f").entries


def test_markup_inside_cdata_or_a_nested_item_is_not_an_item() -> None:
    cdata = rss2(made(4)).replace(b"<title>Moment 1</title>", b"<title><![CDATA[Moment <item> 1]]></title>")
    spans = _item_spans(cdata, b"item")
    assert spans is not None and len(spans) == 4
    assert list(iter_feed_entries(cdata, source="f", chunk=1)) == parse_feed(cdata, source="f").entries
    nested = rss2(made(4)).replace(b"<title>Moment 2</title>", b"<title>Moment 2</title><x><item/></x>")
    assert _item_spans(nested, b"item") is None
    assert list(iter_feed_entries(nested, source="f", chunk=1)) == parse_feed(nested, source="f").entries


def test_a_feed_with_a_doctype_is_read_whole() -> None:
    data = rss2(made(4)).replace(b"<rss ", b"<!DOCTYPE rss>\n<rss ", 1)
    assert _item_spans(data, b"item") is None
    entries = list(iter_feed_entries(data, source="f", chunk=1))
    assert len(entries) == 4
