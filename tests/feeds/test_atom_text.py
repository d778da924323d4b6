"""Atom text constructs are read as their ``type`` says (RFC 4287, 3.1): ``text`` (the default) is plain text,
``html`` escaped HTML, ``xhtml`` an inline XHTML div; JSON Feed's ``title``, ``summary`` and ``content_text``
are plain text, its ``content_html`` HTML; RSS ``description`` stays HTML. Polled from a real feed server on
loopback, the queued articles are asserted on byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from scheduler.articles.feed import iter_feed_entries, load_feed, parse_feed
from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import poll_source
from scheduler.pipeline import Pipeline
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer
from tests.feeds.hooked import hook_workspace, polled_articles

XHTML = 'xmlns="http://www.w3.org/1999/xhtml"'


def atom_entry(number: int, texts: str) -> str:
    return (
        f"<entry><id>urn:moment:{number}</id>{texts}"
        f'<link rel="alternate" href="https://history.example/moments/{number}"/>'
        f"<updated>2026-12-0{number}T09:00:00Z</updated>"
        '<category term="History"/></entry>'
    )


ENTRIES = [
    # 1: text summary (no type: text), with <, >, &amp; and a literal &lt;br&gt;
    atom_entry(
        1,
        "<title>Less &lt;than&gt; &amp; more: a &lt; b</title>"
        "<summary>Use a &lt; b and x &gt; y &amp; z; write &amp;lt;br&amp;gt; literally.</summary>"
        '<content type="html">&lt;p&gt;Not the body&lt;/p&gt;</content>',
    ),
    # 2: html summary and title
    atom_entry(
        2,
        '<title type="html">Zhukov &amp;amp; the &lt;b&gt;6th&lt;/b&gt; Army</title>'
        '<summary type="html">&lt;p&gt;Zhukov &amp;amp; the &lt;b&gt;6th Army&lt;/b&gt;&lt;/p&gt;'
        "&lt;p&gt;1939&lt;br&gt;August&lt;/p&gt;</summary>",
    ),
    # 3: xhtml summary and title, with a prefixed namespace in the summary
    atom_entry(
        3,
        f'<title type="xhtml"><div {XHTML}>Khalkhin <b>Gol</b> &amp; a &lt; b</div></title>'
        '<summary type="xhtml"><x:div xmlns:x="http://www.w3.org/1999/xhtml">'
        "<x:p>Battle &amp; <x:i>peace</x:i></x:p><x:p>1939<x:br/>August &lt;br&gt;</x:p>"
        "<x:script>alert(1)</x:script></x:div></summary>",
    ),
    # 4: text content only, indented as XML, paragraphs kept
    atom_entry(
        4,
        '<title type="text">Plain</title>'
        '<content type="text">\n      First line: 1 &lt; 2 &amp;amp; 3 &gt; 2\n'
        "      Second line &lt;p&gt; is no tag\n\n      New paragraph.\n    </content>",
    ),
    # 5: html content only
    atom_entry(
        5,
        '<title>Html</title><content type="html">&lt;p&gt;One &amp;amp; two&lt;/p&gt;&lt;p&gt;Three&lt;/p&gt;'
        "</content>",
    ),
    # 6: xhtml content only
    atom_entry(
        6,
        f'<title>Xhtml</title><content type="xhtml"><div {XHTML}><p>Body &lt;x&gt; &amp; '
        "<b>bold</b></p><p>two</p></div></content>",
    ),
    # 7: content without a type: text (not HTML, as the parser says)
    atom_entry(7, "<title>No type</title><content>no type &lt;here&gt; &amp;amp;</content>"),
]
ATOM = (
    '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    "<title>Moments &lt;&amp;&gt;</title><id>urn:history</id><updated>2026-12-01T09:00:00Z</updated>\n"
    + "\n".join(ENTRIES)
    + "\n</feed>\n"
).encode()

EXPECTED = {
    1: ("Less <than> & more: a < b", "Use a < b and x > y & z; write &lt;br&gt; literally."),
    2: ("Zhukov & the 6th Army", "Zhukov & the 6th Army\n\n1939\nAugust"),
    3: ("Khalkhin Gol & a < b", "Battle & peace\n\n1939\nAugust <br>"),
    4: ("Plain", "First line: 1 < 2 &amp; 3 > 2\nSecond line <p> is no tag\n\nNew paragraph."),
    5: ("Html", "One & two\n\nThree"),
    6: ("Xhtml", "Body <x> & bold\n\ntwo"),
    7: ("No type", "no type <here> &amp;"),
}


def polled(server: FeedServer, make_workspace: WriteWorkspace, body: bytes) -> dict[str, Any]:
    """The article of each queued delivery, by source, after one poll of ``body``."""
    return polled_articles(server, make_workspace, body)


def test_atom_text_html_and_xhtml_are_each_read_as_their_type(
    server: FeedServer, make_workspace: WriteWorkspace
) -> None:
    articles = polled(server, make_workspace, ATOM)
    assert len(articles) == len(EXPECTED)
    for number, (title, body) in EXPECTED.items():
        article = articles[f"sources/history#urn:moment:{number}"]
        assert (number, article["title"], article["body"]) == (number, title, body)


def test_a_text_entry_reaches_the_post_as_written(server: FeedServer, make_workspace: WriteWorkspace) -> None:
    server.publish(ATOM)
    root = hook_workspace(make_workspace, server)
    workspace = load_workspace(root / "config" / "tagcast.toml")
    with Store.open(workspace.settings.store.url, root=root) as store, httpx.Client() as client:
        poll_source(
            "history", workspace, store, Pipeline(workspace), client, now=datetime(2026, 12, 9, tzinfo=UTC)
        )
        (delivery,) = [d for d in store.list(limit=50) if d.source.endswith("#urn:moment:1")]
    (text,) = delivery.parts
    assert "Less <than> & more: a < b" in text
    assert "Use a < b and x > y & z; write &lt;br&gt; literally." in text


def test_the_feed_title_is_text_and_a_long_feed_read_in_parts_reads_the_same() -> None:
    feed = parse_feed(ATOM, source="feed.atom")
    assert feed.title == "Moments <&>"
    assert [(entry.title, entry.plain) for entry in feed.entries][:2] == [
        ("Less <than> & more: a < b", True),
        ("Zhukov & the 6th Army", False),
    ]
    assert list(iter_feed_entries(ATOM, source="feed.atom", chunk=2)) == feed.entries
    articles, errors = load_feed(ATOM, source="feed.atom")
    assert errors == []
    assert [(article.title, article.body) for article in articles] == list(EXPECTED.values())


def test_a_text_summary_with_cdata_and_an_empty_summary() -> None:
    cdata = atom_entry(1, '<title>T</title><summary type="text"><![CDATA[a <b> & c &amp; d]]></summary>')
    empty = atom_entry(2, '<title>E</title><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"> '
                       '<p/></div></summary><content type="text">The content &lt;3</content>')  # fmt: skip
    data = ATOM.replace(b"\n".join(entry.encode() for entry in ENTRIES), f"{cdata}\n{empty}".encode())
    articles, errors = load_feed(data, source="feed.atom")
    assert errors == []
    assert [article.body for article in articles] == ["a <b> & c &amp; d", "The content <3"]


def test_an_entry_nested_in_another_keeps_its_own_text() -> None:
    """Atom does not allow it; the parser reads both entries, and neither is given the other's text."""
    inner = atom_entry(2, '<title type="html">Inner &amp;amp; B</title><summary>inner &lt;2&gt;</summary>')
    outer = atom_entry(
        1, f'<title>Outer &amp;amp; A</title><summary type="html">outer &amp;lt;1&amp;gt;</summary>{inner}'
    )
    data = ATOM.replace(b"\n".join(entry.encode() for entry in ENTRIES), outer.encode())
    entries = parse_feed(data, source="feed.atom").entries
    assert [(entry.identity, entry.html) for entry in entries] == [
        ("urn:moment:1", "outer &lt;1&gt;"),
        ("urn:moment:2", "inner <2>"),
    ]


def test_json_feed_title_summary_and_content_text_are_text_content_html_is_html() -> None:
    items = [
        {"id": "1", "title": "a < b &amp; c", "summary": "x <p> &lt;br&gt;", "content_html": "<p>not it</p>"},
        {"id": "2", "title": "T2", "content_text": "one < two &amp;\nthree"},
        {"id": "3", "title": "T3", "content_html": "<p>a &amp; <b>b</b></p><p>c</p>"},
    ]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": "J &amp; <b>", "items": items}
    data = json.dumps(document).encode()
    assert parse_feed(data, source="feed.json").title == "J &amp; <b>"
    articles, errors = load_feed(data, source="feed.json")
    assert errors == []
    assert [(article.title, article.body) for article in articles] == [
        ("a < b &amp; c", "x <p> &lt;br&gt;"),
        ("T2", "one < two &amp;\nthree"),
        ("T3", "a & b\n\nc"),
    ]


def test_rss_description_and_title_stay_html() -> None:
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>R &amp;amp; S</title>'
        b"<link>https://r.example/</link><description>d</description>"
        b"<item><title>A &amp;amp; &lt;b&gt;B&lt;/b&gt;</title><link>https://r.example/1</link><guid>g1</guid>"
        b"<description>&lt;p&gt;x &amp;lt; y&lt;/p&gt;&lt;p&gt;two&lt;/p&gt;</description>"
        b"</item></channel></rss>"
    )
    feed = parse_feed(data, source="feed.rss")
    assert feed.title == "R & S"
    articles, errors = load_feed(data, source="feed.rss")
    assert errors == []
    assert [(article.title, article.body) for article in articles] == [("A & B", "x < y\n\ntwo")]


@pytest.mark.parametrize("entries", [0, 2])
def test_an_atom_feed_title_after_its_entries_or_without_entries_is_text(entries: int) -> None:
    body = "\n".join(ENTRIES[:entries])
    data = (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><id>urn:h</id>'
        f"<updated>2026-12-01T09:00:00Z</updated>{body}<title>A &lt; B &amp;amp; C</title></feed>"
    ).encode()
    feed = parse_feed(data, source="feed.atom")
    assert (feed.title, len(feed.entries)) == ("A < B &amp; C", entries)


@pytest.mark.parametrize(
    ("content", "body"),
    [
        ('<content type="text/plain">1 &lt; 2 &amp;amp;\n  3</content>', "1 < 2 &amp;\n3"),
        ('<content type="TEXT/HTML">&lt;p&gt;1 &amp;lt; 2&lt;/p&gt;</content>', "1 < 2"),
        (f'<content type="application/xhtml+xml"><div {XHTML}><p>1 &lt; 2</p></div></content>', "1 < 2"),
        ('<content type="image/png">iVBORw0KGgo=</content>', ""),  # data, not text: no body
    ],
    ids=["text/plain", "text/html", "xhtml+xml", "base64"],
)
def test_a_content_with_a_media_type_is_read_as_that_type(content: str, body: str) -> None:
    data = ATOM.replace(
        b"\n".join(entry.encode() for entry in ENTRIES), atom_entry(1, "<title>T</title>" + content).encode()
    )
    https = data.replace(b"http://www.w3.org/2005/Atom", b"https://www.w3.org/2005/Atom")
    for feed in (data, https):
        articles, errors = load_feed(feed, source="feed.atom")
        assert errors == []
        assert [article.body for article in articles] == [body]
