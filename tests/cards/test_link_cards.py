"""Link cards from articles and pages: which post gets one, what it says, what a page that cannot be read
gives, and the thumbnail. Every page comes from a fake site on loopback; the cache is a real SQLite outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import regex
from fakes.pages import PagesFake, png_bytes
from fakes.server import Reply
from intranet import allow_private

from scheduler.media.cards import DESCRIPTION_MAX, CardRules, make_card
from scheduler.media.model import Card, CardDraft
from scheduler.store import Store

from .support import article, channels, link_cards, with_image

OG_DESCRIPTION = "How the 1939 battle – fought on the Mongolian steppe – shaped the war."


def card_of(
    store: Store, root: Path, channel: str, art: Any, **options: Any
) -> tuple[Card | None, list[str]]:
    async def run() -> tuple[Card | None, list[str]]:
        async with link_cards(store, root, **options) as cards:
            return await cards.card_for(channel, art)

    return asyncio.run(run())


def test_a_page_with_opengraph_tags_gives_description_and_thumbnail(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    fitted: list[tuple[str, int]] = []
    card, warnings = card_of(store, tmp_path, "bsky", article(site.url("/og")), fitted=fitted)
    assert warnings == []
    assert card is not None
    assert (card.uri, card.title, card.description) == (site.url("/og"), "Khalkhin Gol, 1939", OG_DESCRIPTION)
    assert fitted == [(site.url("/img/thumb.png"), 1_000_000)]  # og:image made absolute; Bluesky's bound
    assert card.thumb is not None
    assert (card.thumb.src, card.thumb.width, card.thumb.height) == (site.url("/img/thumb.png"), 8, 6)
    assert card.thumb.read_bytes() == png_bytes()
    assert card.to_json() == {
        "uri": site.url("/og"),
        "title": "Khalkhin Gol, 1939",
        "description": OG_DESCRIPTION,
        "thumb": site.url("/img/thumb.png"),
    }
    [request] = site.requests_to("GET", "^/og$")
    assert "text/html" in request.headers["accept"]


def test_an_article_without_a_title_takes_the_pages_decoded_and_collapsed(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    card, _ = card_of(store, tmp_path, "bsky", article(site.url("/og"), title="  "))
    assert card is not None
    assert card.title == "The Battle of Khalkhin Gol & its aftermath"


def test_the_articles_summary_wins_over_the_page(site: PagesFake, store: Store, tmp_path: Path) -> None:
    summary = "What the\n  steppe saw."
    card, _ = card_of(store, tmp_path, "bsky", article(site.url("/og"), extra={"summary": summary}))
    assert card is not None
    assert card.description == "What the steppe saw."
    assert card.thumb is not None  # the page was still read, for its image
    assert site.hits("/og") == 1


def test_twitter_tags_only(site: PagesFake, store: Store, tmp_path: Path) -> None:
    async def run() -> Any:
        async with link_cards(store, tmp_path) as cards:
            return await cards.draft(article(site.url("/twitter"), title=""))

    draft, warnings = asyncio.run(run())
    assert warnings == []
    assert draft == CardDraft(
        uri=site.url("/twitter"),
        title="Only Twitter tags here",
        description="A page that speaks only to Twitter.",
        thumb_src="https://cdn.example.org/pic.jpg",
    )


def test_a_page_without_tags_gives_its_title_and_no_description(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    card, warnings = card_of(store, tmp_path, "bsky", article(site.url("/plain"), title=""))
    assert warnings == []
    assert card == Card(site.url("/plain"), "A page without meta tags", "", None)


def test_broken_html_is_read_as_a_browser_would(site: PagesFake, store: Store, tmp_path: Path) -> None:
    async def run() -> Any:
        async with link_cards(store, tmp_path) as cards:
            return await cards.draft(article(site.url("/broken"), title=""))

    draft, warnings = asyncio.run(run())
    assert warnings == []
    assert draft == CardDraft(
        site.url("/broken"), "Broken & readable", "Tags <b>left</i> open", site.url("/pics/a b.png")
    )


def test_a_page_in_latin1_is_decoded(site: PagesFake, store: Store, tmp_path: Path) -> None:
    card, _ = card_of(store, tmp_path, "bsky", article(site.url("/latin1")))
    assert card is not None
    assert card.description == "Grüße aus Köln"


def test_a_redirect_is_followed_and_the_image_resolved_against_the_final_page(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    site.pages["/moved"] = Reply(301, b"", {"Location": "/deeper/og"})
    site.pages["/deeper/og"] = Reply(200, b'<meta property="og:image" content="t.png">', {})

    async def run() -> Any:
        async with link_cards(store, tmp_path) as cards:
            return await cards.draft(article(site.url("/moved")))

    draft, _ = asyncio.run(run())
    assert draft.uri == site.url("/moved")  # the card links what the article links
    assert draft.thumb_src == site.url("/deeper/t.png")


# --- pages that cannot be read: a warning, and a card from the article alone -------------------------------


def assert_unreadable(card: Card | None, warnings: list[str], url: str, why: str) -> None:
    assert warnings == [f"link card {url}: the page cannot be read: {why}"]
    assert card == Card(url, "Khalkhin Gol, 1939", "", None)


def test_a_404_is_a_warning_and_a_card_without_thumbnail(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    url = site.url("/missing")
    card, warnings = card_of(store, tmp_path, "bsky", article(url))
    assert_unreadable(card, warnings, url, "it answered 404 Not Found")


def test_a_page_that_never_answers_ends_at_the_deadline(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    site.faults.timeout(seconds=60, path="^/never$")  # released when the site stops
    url = site.url("/never")
    card, warnings = card_of(
        store, tmp_path, "bsky", article(url), rules=CardRules(deadline=0.2, addresses=allow_private())
    )
    assert_unreadable(card, warnings, url, "no complete answer within 0.2 s")


def test_a_5_mb_page_is_not_read(site: PagesFake, store: Store, tmp_path: Path) -> None:
    url = site.url("/huge")
    card, warnings = card_of(store, tmp_path, "bsky", article(url))
    assert_unreadable(card, warnings, url, "the page is larger than 2000000 bytes")


def test_a_pdf_is_not_a_page(site: PagesFake, store: Store, tmp_path: Path) -> None:
    url = site.url("/pdf")
    card, warnings = card_of(store, tmp_path, "bsky", article(url))
    assert_unreadable(card, warnings, url, "it is not an HTML page but application/pdf")


def test_a_redirect_loop_ends(site: PagesFake, store: Store, tmp_path: Path) -> None:
    site.pages["/loop"] = Reply(302, b"", {"Location": "/loop"})
    url = site.url("/loop")
    card, warnings = card_of(store, tmp_path, "bsky", article(url))
    assert_unreadable(card, warnings, url, "it redirects too many times")
    assert site.hits("/loop") == 21  # the first request and 20 redirects (MAX_REDIRECTS)


def test_a_server_that_is_gone(store: Store, tmp_path: Path) -> None:
    with PagesFake().running() as gone:
        url = gone.url("/og")
    card, warnings = card_of(store, tmp_path, "bsky", article(url))
    assert_unreadable(card, warnings, url, "cannot connect to 127.0.0.1")


def test_an_og_image_that_cannot_be_had_is_a_warning(site: PagesFake, store: Store, tmp_path: Path) -> None:
    site.pages["/og"] = Reply(200, b'<meta property="og:image" content="/img/gone.png">', {})
    card, warnings = card_of(store, tmp_path, "bsky", article(site.url("/og")))
    assert warnings == [
        f"link card {site.url('/og')}: no thumbnail from {site.url('/img/gone.png')}: "
        "it cannot be read as an image"
    ]
    assert card == Card(site.url("/og"), "Khalkhin Gol, 1939", "", None)


def test_a_thumbnail_over_the_bound_is_left_out(tmp_path: Path) -> None:
    image = tmp_path / "big.png"
    image.write_bytes(png_bytes(64, 64))

    async def run() -> tuple[Card, list[str]]:
        from .support import simple_fitter

        async with httpx.AsyncClient() as http:
            fit = simple_fitter(tmp_path, http, [])
            return await make_card(CardDraft("https://example.org/a", "A", "B", str(image)), fit, 100)

    card, warnings = asyncio.run(run())
    size = image.stat().st_size
    assert card == Card("https://example.org/a", "A", "B", None)
    assert warnings == [
        f"link card https://example.org/a: no thumbnail from {image}: it is {size} bytes after fitting, "
        "over the 100 a thumbnail may have"
    ]


# --- which post gets a card --------------------------------------------------------------------------------


def test_the_articles_own_image_is_the_thumbnail_and_nothing_is_fetched(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    (tmp_path / "posts" / "img").mkdir(parents=True)
    (tmp_path / "posts" / "img" / "map.png").write_bytes(png_bytes(10, 4))
    art = article(site.url("/og"), extra={"summary": "Short."}, images=with_image("img/map.png"))
    fitted: list[tuple[str, int]] = []

    async def run() -> Any:
        async with link_cards(store, tmp_path, fitted=fitted) as cards:
            return await cards.card_for("bsky", art, media=())

    card, warnings = asyncio.run(run())
    assert warnings == []
    assert fitted == [(str(tmp_path / "posts" / "img" / "map.png"), 1_000_000)]
    assert card is not None
    assert (card.title, card.description, card.thumb and card.thumb.width) == (
        "Khalkhin Gol, 1939",
        "Short.",
        10,
    )
    assert site.requests == []  # title, summary and image from the article: the page is not needed


def test_no_card_without_a_url_with_images_sent_off_or_on_a_network_that_builds_its_own(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    chans = channels(off={"network": "bluesky", "link_card": False})

    async def run() -> list[Card | None]:
        async with link_cards(store, tmp_path, chans=chans) as cards:
            made = await cards.card_for("bsky", article(site.url("/og")))
            thumb = made[0].thumb if made[0] else None
            assert thumb is not None
            return [
                made[0],
                (await cards.card_for("bsky", article(None)))[0],
                (await cards.card_for("bsky", article(site.url("/og")), media=(thumb,)))[0],
                (await cards.card_for("off", article(site.url("/og"))))[0],
                (await cards.card_for("masto", article(site.url("/og"))))[0],
                (await cards.card_for("nosuch", article(site.url("/og"))))[0],
            ]

    made, *none = asyncio.run(run())
    assert made is not None
    assert none == [None, None, None, None, None]


def test_a_long_description_is_cut_at_a_grapheme_boundary(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    family = "👩\u200d👩\u200d👧"  # one grapheme of five code points
    text = "a" * (DESCRIPTION_MAX - 2) + family * 3
    site.pages["/long"] = Reply(200, f'<meta property="og:description" content="{text}">'.encode(), {})
    card, _ = card_of(store, tmp_path, "bsky", article(site.url("/long")))
    assert card is not None
    assert card.description == "a" * (DESCRIPTION_MAX - 2) + family + "…"
    assert len(regex.findall(r"\X", card.description)) == DESCRIPTION_MAX
