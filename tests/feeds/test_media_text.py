"""Media RSS ``media:title`` and ``media:description`` are read as their ``type`` says: ``plain`` (the
default) is kept as written (``a < b``, a literal ``&lt;br&gt;``), ``html`` is HTML made text. They are an
image's alt text; polled from a real feed server on loopback, the queued articles' images are asserted on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fakes.images import ImageServer

from scheduler.articles.feed import iter_feed_entries, load_feed, parse_feed
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer
from tests.feeds.hooked import polled_with_images, serving_images

MEDIA = 'xmlns:media="http://search.yahoo.com/mrss/"'

# each: the item's Media RSS, and the alt text its image gets
ITEMS = [
    # 1: a plain description, with <, &amp; and text that reads like a tag
    (
        '<media:content url="https://history.example/1.jpg" medium="image">'
        '<media:description type="plain">Use a &lt; b &amp;amp; x &gt; y; write &amp;lt;br&amp;gt; '
        "or &lt;b&gt;bold&lt;/b&gt; literally.</media:description></media:content>",
        "Use a < b &amp; x > y; write &lt;br&gt; or <b>bold</b> literally.",
    ),
    # 2: an html description
    (
        '<media:content url="https://history.example/2.jpg" medium="image">'
        '<media:description type="html">The front on &lt;b&gt;20 August&lt;/b&gt;\n  1939 &amp;amp; '
        "the river&lt;br&gt;</media:description></media:content>",
        "The front on 20 August 1939 & the river",
    ),
    # 3: a description without a type: plain
    (
        '<media:content url="https://history.example/3.jpg" medium="image">'
        "<media:description>Tom &amp;amp; Jerry &lt;3 &lt;i&gt;\n   again</media:description>"
        "</media:content>",
        "Tom &amp; Jerry <3 <i> again",
    ),
    # 4: a title only, plain (no type), and an html one is not read as plain
    (
        '<media:content url="https://history.example/4.jpg" medium="image">'
        "<media:title>A &lt; B: the &amp;lt;p&amp;gt; tag</media:title></media:content>",
        "A < B: the &lt;p&gt; tag",
    ),
    (
        '<media:content url="https://history.example/5.jpg" medium="image">'
        '<media:title type="HTML">Zhukov &amp;amp; the &lt;b&gt;6th&lt;/b&gt; Army</media:title>'
        "</media:content>",
        "Zhukov & the 6th Army",
    ),
    # 6: a group's description (plain, in CDATA) for the content in it, whose title is html
    (
        "<media:group><media:description><![CDATA[Camp <at> dawn & dusk &amp;]]></media:description>"
        '<media:content url="https://history.example/6.jpg" medium="image">'
        '<media:title type="html">not &lt;i&gt;this&lt;/i&gt;</media:title></media:content></media:group>',
        "Camp <at> dawn & dusk &amp;",
    ),
]
EXPECTED = {number: alt for number, (_, alt) in enumerate(ITEMS, start=1)}


def rss2(items: list[tuple[str, str]]) -> bytes:
    entries = "\n".join(
        f"<item><title>Moment {number}</title><link>https://history.example/m/{number}</link>"
        f"<guid>urn:moment:{number}</guid><pubDate>Tue, 0{number} Dec 2026 09:00:00 GMT</pubDate>"
        f"<description>Body {number}</description><category>History</category>{media}</item>"
        for number, (media, _) in enumerate(items, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" {MEDIA}><channel><title>H</title>'
        f"<link>https://history.example/</link><description>d</description>\n{entries}\n</channel></rss>\n"
    ).encode()


def atom(items: list[tuple[str, str]]) -> bytes:
    entries = "\n".join(
        f"<entry><id>urn:moment:{number}</id><title>Moment {number}</title>"
        f'<link rel="alternate" href="https://history.example/m/{number}"/>'
        f"<updated>2026-12-0{number}T09:00:00Z</updated><summary>Body {number}</summary>"
        f'<category term="History"/>{media}</entry>'
        for number, (media, _) in enumerate(items, start=1)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" {MEDIA}>'
        f"<title>H</title><id>urn:h</id><updated>2026-12-01T09:00:00Z</updated>\n{entries}\n</feed>\n"
    ).encode()


def rss1(items: list[tuple[str, str]]) -> bytes:
    entries = "\n".join(
        f'<item rdf:about="urn:moment:{number}"><title>Moment {number}</title>'
        f"<link>https://history.example/m/{number}</link><description>Body {number}</description>"
        f"<dc:date>2026-12-0{number}T09:00:00Z</dc:date><dc:subject>History</dc:subject>{media}</item>"
        for number, (media, _) in enumerate(items, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f' xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" {MEDIA}>'
        '<channel rdf:about="https://history.example/"><title>H</title><link>https://history.example/</link>'
        f"<description>d</description></channel>\n{entries}\n</rdf:RDF>\n"
    ).encode()


WRITERS = {"rss2": rss2, "atom": atom, "rss1": rss1}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageServer]:
    """The items' images (a poll downloads each over https), at ``/1.jpg`` ..."""
    with serving_images(tmp_path_factory.mktemp("tls"), EXPECTED) as served:
        yield served


@pytest.mark.parametrize("kind", list(WRITERS))
def test_media_titles_and_descriptions_are_read_as_their_type(
    kind: str,
    server: FeedServer,
    images: ImageServer,
    make_workspace: WriteWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(images.ca_file))  # the way a user trusts another CA
    articles = polled_with_images(server, images, make_workspace, WRITERS[kind](ITEMS))
    assert len(articles) == len(EXPECTED)
    for number, alt in EXPECTED.items():
        article = articles[f"sources/history#urn:moment:{number}"]
        src = images.url(f"/{number}.jpg")
        assert (number, article["images"]) == (number, [{"src": src, "alt": alt}])
        assert (article["extra"]["image"], article["extra"]["image_alt"]) == (src, alt)


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_long_feed_read_in_parts_reads_the_same_alt_texts(kind: str) -> None:
    data = WRITERS[kind](ITEMS)
    whole = parse_feed(data, source="feed.xml").entries
    assert [entry.image_alt for entry in whole] == list(EXPECTED.values())
    assert list(iter_feed_entries(data, source="feed.xml", chunk=2)) == whole


def test_items_without_media_texts_between_ones_with_them_keep_their_place() -> None:
    """The feed is read again only from the first item naming a media text; the items before and between are
    skipped, and each item still gets its own."""
    plain = ('<media:content url="https://history.example/x.jpg" medium="image"/>', "")
    items = [plain, plain, ITEMS[0], plain, ITEMS[1], plain]
    entries = parse_feed(rss2(items), source="feed.xml").entries
    assert [entry.image_alt for entry in entries] == [None, None, EXPECTED[1], None, EXPECTED[2], None]


def test_an_item_nested_in_another_does_not_shift_the_others() -> None:
    """Neither RSS 2.0 nor Atom allows it; the parser lists an RSS channel's own items, but every Atom entry
    (the inner one after the outer), and each keeps its own alt text."""
    inner = "<item><title>Inner</title>" + ITEMS[3][0] + "</item>"
    entries = parse_feed(rss2([ITEMS[0], (ITEMS[2][0] + inner, ""), ITEMS[4]]), source="feed.xml").entries
    assert [entry.image_alt for entry in entries] == [EXPECTED[1], EXPECTED[3], EXPECTED[5]]
    inner = '<entry><id>urn:inner</id><title>Inner</title><link href="https://history.example/in"/>'
    inner += f"<updated>2026-12-01T09:00:00Z</updated>{ITEMS[3][0]}</entry>"
    entries = parse_feed(atom([ITEMS[0], (ITEMS[2][0] + inner, ""), ITEMS[4]]), source="feed.xml").entries
    assert [(entry.identity, entry.image_alt) for entry in entries] == [
        ("urn:moment:1", EXPECTED[1]),
        ("urn:moment:2", EXPECTED[3]),
        ("urn:inner", EXPECTED[4]),
        ("urn:moment:3", EXPECTED[5]),
    ]


def test_a_feed_without_media_rss_reads_as_before() -> None:
    """No Media RSS namespace: nothing is read again, and an enclosure without a title has no alt text."""
    data = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>R</title><link>https://r.example/</link>'
        b"<description>d</description><item><title>A</title><link>https://r.example/1</link><guid>g1</guid>"
        b"<description>&lt;p&gt;x &amp;lt; y&lt;/p&gt;</description>"
        b'<enclosure url="https://r.example/1.jpg" type="image/jpeg" length="9"/></item></channel></rss>'
    )
    articles, errors = load_feed(data, source="feed.rss")
    assert errors == []
    assert [(article.body, article.images[0].alt) for article in articles] == [("x < y", None)]


def test_a_feed_whose_media_texts_have_no_type_reads_them_all_as_plain_text() -> None:
    untyped = [ITEMS[2], ITEMS[3], (ITEMS[0][0].replace(' type="plain"', ""), EXPECTED[1])]
    data = rss2(untyped)
    assert b"type=" not in data.replace(b'type="image/jpeg"', b"")
    entries = parse_feed(data, source="feed.xml").entries
    assert [entry.image_alt for entry in entries] == [EXPECTED[3], EXPECTED[4], EXPECTED[1]]


def test_an_html_type_after_an_attribute_holding_a_closing_bracket_is_still_html() -> None:
    odd = ITEMS[4][0].replace('<media:title type="HTML">', "<m:title note='a > b'\n  type = \"html\">")
    odd = odd.replace("</media:title>", "</m:title>")
    data = rss2([ITEMS[2], (odd, EXPECTED[5])]).replace(MEDIA.encode(), MEDIA.replace("media", "m").encode())
    data = data.replace(b"<rss ", b"<rss " + MEDIA.encode() + b" ", 1)
    assert [entry.image_alt for entry in parse_feed(data, source="feed.xml").entries] == [
        EXPECTED[3],
        EXPECTED[5],
    ]


def test_media_rss_as_the_default_namespace_is_read_as_its_type_says() -> None:
    own = (
        '<content xmlns="http://search.yahoo.com/mrss/" url="https://history.example/1.jpg" medium="image">'
        '<description type="html">Zhukov &amp;amp; the &lt;b&gt;6th&lt;/b&gt; Army</description></content>'
    )
    entries = parse_feed(atom([ITEMS[2], (own, "")]), source="feed.xml").entries
    assert [entry.image_alt for entry in entries] == [EXPECTED[3], EXPECTED[5]]


def test_an_atom_feed_typing_its_own_titles_reads_untyped_media_texts_as_plain() -> None:
    data = atom([ITEMS[2], ITEMS[3]]).replace(b"<title>Moment", b'<title type="html">Moment')
    entries = parse_feed(data, source="feed.xml").entries
    assert [(entry.title, entry.image_alt) for entry in entries] == [
        ("Moment 1", EXPECTED[3]),
        ("Moment 2", EXPECTED[4]),
    ]
