"""The ``title`` of an Atom ``<link rel="enclosure">`` is an XML attribute: plain text, as the XML parser
hands it over. ``title="a &lt; b"`` is the text ``a < b`` and ``title="&lt;br&gt;"`` the literal text
``<br>``, never markup to strip nor a reference to decode a second time. It is the image's alt text; polled
from a real feed server on loopback, the queued articles' images are asserted on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.images import ImageServer

from scheduler.articles.feed import iter_feed_entries, parse_feed
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer
from tests.feeds.hooked import polled_with_images, serving_images

# each: the enclosure's title attribute as written in the feed, and the alt text its image gets
TITLES = [
    ("Use a &lt; b &amp; c &gt; d", "Use a < b & c > d"),
    ("write &lt;br&gt; or &lt;b&gt;bold&lt;/b&gt; literally", "write <br> or <b>bold</b> literally"),
    ("the &amp;lt;p&amp;gt; tag, Tom &amp;amp; Jerry", "the &lt;p&gt; tag, Tom &amp; Jerry"),
    ("&lt;p&gt;&lt;/p&gt;", "<p></p>"),
    ("Camp at&#10;   dawn&#9;&#233;t&#xE9;", "Camp at dawn été"),
    ("Zhukov's &quot;6th&quot; Army", 'Zhukov\'s "6th" Army'),
]
EXPECTED = {number: alt for number, (_, alt) in enumerate(TITLES, start=1)}


def enclosure(number: int, title: str | None) -> str:
    titled = f' title="{title}"' if title is not None else ""
    return f'<link rel="enclosure" type="image/jpeg" href="https://history.example/{number}.jpg"{titled}/>'


def atom(titles: list[str | None]) -> bytes:
    entries = "\n".join(
        f"<entry><id>urn:moment:{number}</id><title>Moment {number}</title>"
        f'<link rel="alternate" href="https://history.example/m/{number}"/>'
        f"<updated>2026-12-0{number}T09:00:00Z</updated><summary>Body {number}</summary>"
        f'<category term="History"/>{enclosure(number, title)}</entry>'
        for number, title in enumerate(titles, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>H</title><id>urn:h</id><updated>2026-12-01T09:00:00Z</updated>\n{entries}\n</feed>\n"
    ).encode()


def rss2(titles: list[str | None]) -> bytes:
    """RSS 2.0 items carrying an ``atom:link rel="enclosure"`` (RSS's own enclosure has no title)."""
    items = "\n".join(
        f"<item><title>Moment {number}</title><link>https://history.example/m/{number}</link>"
        f"<guid>urn:moment:{number}</guid><pubDate>Tue, 0{number} Dec 2026 09:00:00 GMT</pubDate>"
        f"<description>Body {number}</description><category>History</category>"
        + enclosure(number, title).replace("<link ", "<atom:link ")
        + "</item>"
        for number, title in enumerate(titles, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>H</title><link>https://history.example/</link><description>d</description>\n"
        f"{items}\n</channel></rss>\n"
    ).encode()


WRITERS = {"atom": atom, "rss2": rss2}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageServer]:
    """The entries' images (a poll downloads each over https), at ``/1.jpg`` ..."""
    with serving_images(tmp_path_factory.mktemp("tls"), EXPECTED) as served:
        yield served


@pytest.mark.parametrize("kind", list(WRITERS))
def test_an_enclosure_title_is_plain_text_kept_as_written(
    kind: str,
    server: FeedServer,
    images: ImageServer,
    make_workspace: WriteWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(images.ca_file))  # the way a user trusts another CA
    articles = polled_with_images(
        server, images, make_workspace, WRITERS[kind]([title for title, _ in TITLES])
    )
    assert len(articles) == len(EXPECTED)
    for number, alt in EXPECTED.items():
        article = articles[f"sources/history#urn:moment:{number}"]
        src = images.url(f"/{number}.jpg")
        assert (number, article["images"]) == (number, [{"src": src, "alt": alt}])
        assert (article["extra"]["image"], article["extra"]["image_alt"]) == (src, alt)


def test_a_blank_or_missing_enclosure_title_is_no_alt_text() -> None:
    entries = parse_feed(atom(["  &#10; ", "", None, "x"]), source="feed.xml").entries
    assert [(entry.image, entry.image_alt) for entry in entries] == [
        ("https://history.example/1.jpg", None),
        ("https://history.example/2.jpg", None),
        ("https://history.example/3.jpg", None),
        ("https://history.example/4.jpg", "x"),
    ]


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_long_feed_read_in_parts_reads_the_same_enclosure_titles(kind: str) -> None:
    data = WRITERS[kind]([title for title, _ in TITLES])
    whole = parse_feed(data, source="feed.xml").entries
    assert [entry.image_alt for entry in whole] == list(EXPECTED.values())
    assert list(iter_feed_entries(data, source="feed.xml", chunk=2)) == whole
