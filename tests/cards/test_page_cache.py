"""The pages behind link cards are fetched once: remembered in the outbox (``link_pages``, schema version 6)
until their TTL, shared by concurrent posts, and refetched after it; a version 5 outbox is upgraded."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

from fakes.pages import PagesFake
from sqlalchemy import inspect, text

from scheduler.media.cards import ERROR_TTL, PAGE_TTL
from scheduler.media.model import PageMeta
from scheduler.models import Post
from scheduler.store import Store
from scheduler.store.migrations import current_version, latest_version
from scheduler.store.schema import schema_version

from .support import NOW, article, link_cards


def queued_post() -> Post:
    art = article("https://example.org/a", source="posts/a.md")
    return Post(
        art,
        "file",
        "file",
        "default",
        "default.j2",
        ["A post"],
        [6],
        500,
        "characters",
        scheduled_at=NOW + timedelta(hours=1),
    )


def card_title_at(store: Store, root: Path, url: str, moment: datetime) -> str:
    async def run() -> str:
        async with link_cards(store, root, clock=lambda: moment) as cards:
            card, _ = await cards.card_for("bsky", article(url, title=""))
        assert card is not None
        return card.title

    return asyncio.run(run())


def test_a_page_is_fetched_once_until_its_ttl(site: PagesFake, store: Store, tmp_path: Path) -> None:
    url = site.url("/plain")
    assert card_title_at(store, tmp_path, url, NOW) == "A page without meta tags"
    site.pages["/plain"] = site.pages["/twitter"]  # the page changes; the cache does not know yet
    assert (
        card_title_at(store, tmp_path, url, NOW + PAGE_TTL - timedelta(seconds=1))
        == "A page without meta tags"
    )
    assert site.hits("/plain") == 1
    stored = store.link_page(url)
    assert stored == PageMeta(url, NOW, "A page without meta tags", None, None, None)
    later = NOW + PAGE_TTL
    assert card_title_at(store, tmp_path, url, later) == "Only Twitter tags here"
    assert site.hits("/plain") == 2
    assert store.link_page(url) == PageMeta(
        url,
        later,
        "Only Twitter tags here",
        "A page that speaks only to Twitter.",
        "https://cdn.example.org/pic.jpg",
    )


def test_a_page_that_failed_is_tried_again_after_an_hour(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    url = site.url("/missing")
    card_title_at(store, tmp_path, url, NOW)
    card_title_at(store, tmp_path, url, NOW + ERROR_TTL - timedelta(seconds=1))
    assert site.hits("/missing") == 1
    stored = store.link_page(url)
    assert stored is not None
    assert stored.error == "it answered 404 Not Found"
    card_title_at(store, tmp_path, url, NOW + ERROR_TTL)
    assert site.hits("/missing") == 2


def test_a_cached_time_in_the_future_is_not_trusted(site: PagesFake, store: Store, tmp_path: Path) -> None:
    url = site.url("/plain")
    store.save_link_page(PageMeta(url, NOW + timedelta(days=400), "From a wrong clock"))
    assert card_title_at(store, tmp_path, url, NOW) == "A page without meta tags"
    assert site.hits("/plain") == 1


def test_posts_of_one_page_on_several_channels_fetch_it_once(
    site: PagesFake, store: Store, tmp_path: Path
) -> None:
    url = site.url("/og")

    async def run() -> None:
        async with link_cards(store, tmp_path) as cards:
            made = await asyncio.gather(
                cards.card_for("bsky", article(url)), cards.card_for("bsky2", article(url))
            )
        assert [card is not None and card.thumb is not None for card, _ in made] == [True, True]

    asyncio.run(run())
    assert site.hits("/og") == 1


def test_version_6_adds_the_link_pages_to_a_version_5_outbox(db_url: str, tmp_path: Path) -> None:
    with Store.open(db_url, root=tmp_path) as store:
        store.upsert(queued_post(), now=NOW)
        with store.engine.begin() as connection:
            connection.execute(text("DROP TABLE link_pages"))
            connection.execute(schema_version.update().values(version=5))
    with Store.open(db_url, root=tmp_path) as store:
        with store.engine.connect() as connection:
            assert current_version(connection) == latest_version() >= 6
            assert "link_pages" in set(inspect(connection).get_table_names())
        assert [d.source for d in store.list()] == ["posts/a.md"]
        page = PageMeta("https://example.org/a", NOW, "A", "B", "https://example.org/a.png")
        assert store.link_page(page.url) is None
        store.save_link_page(page)
        store.save_link_page(PageMeta(page.url, NOW + timedelta(days=8), error="it answered 410 Gone"))
        assert store.link_page(page.url) == PageMeta(
            page.url, NOW + timedelta(days=8), None, None, None, "it answered 410 Gone"
        )
