"""The send path: the service fills ``Outgoing.card`` right before publishing (``Dispatcher(prepare=...)``
with :meth:`LinkCards.prepare`), through the store thread for the cache; a page that cannot be read is a
logged warning and the post still goes out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakes.bluesky import BlueskyFake
from fakes.pages import PagesFake
from intranet import ALLOW_TOML

from scheduler.adapters.base import Outgoing
from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.media.addresses import AddressPolicy
from scheduler.media.cards import CardRules, LinkCards, StorePageCache
from scheduler.media.model import Card
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.storecalls import StoreCalls
from scheduler.store import DeliveryState, Store

from .support import simple_fitter

NOW = datetime.now(UTC).replace(microsecond=0)


def workspace_for(root: Path, pds: BlueskyFake, url: str) -> Path:
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(
        f"""\
[store]
url = "sqlite:///var/tagcast.db"

[defaults]
timezone = "UTC"
channels = ["bsky"]

[channels.bsky]
network = "bluesky"
base_url = "{pds.base_url}"
handle = "alice.test"
password = "app-pass-1234"
"""
        + ALLOW_TOML,  # the fake site is on loopback
        encoding="utf-8",
    )
    due = (NOW - timedelta(minutes=30)).isoformat()
    (root / "posts" / "a.md").write_text(
        f"---\ntitle: Khalkhin Gol\nurl: {url}\npublish_at: {due}\n---\nA short body.\n", encoding="utf-8"
    )
    return root


def send_due(root: Path, store: Store, sent: list[Outgoing]) -> DispatchReport:
    workspace = load_workspace(str(root))
    ingest(workspace, store, now=NOW)

    async def go() -> DispatchReport:
        calls = StoreCalls()
        async with httpx.AsyncClient(timeout=5) as http, httpx.AsyncClient(follow_redirects=True) as pages:
            cards = LinkCards(
                workspace.settings.channels,
                http=pages,
                cache=StorePageCache(store, calls),
                fit_thumb=simple_fitter(root, pages, []),
                root=root,
                clock=lambda: NOW,
                rules=CardRules(deadline=5.0, addresses=AddressPolicy.of(workspace.settings)),
            )

            async def prepare(outgoing: Outgoing) -> Outgoing:
                ready = await cards.prepare(outgoing)
                sent.append(ready)
                return ready

            dispatcher = Dispatcher(
                workspace, store, http, worker_id="w", clock=lambda: NOW, calls=calls, prepare=prepare
            )
            try:
                return await dispatcher.run_due(NOW)
            finally:
                calls.close()

    return asyncio.run(go())


@pytest.fixture
def pds() -> Iterator[BlueskyFake]:
    with BlueskyFake(handle="alice.test", password="app-pass-1234").running() as fake:
        yield fake


def test_the_service_sends_the_card_and_caches_the_page(
    tmp_path: Path, pds: BlueskyFake, site: PagesFake
) -> None:
    root = workspace_for(tmp_path / "ws", pds, site.url("/og"))
    sent: list[Outgoing] = []
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        send_due(root, store, sent)
        [delivery] = store.list()
        assert delivery.state is DeliveryState.SENT
        cached = store.link_page(site.url("/og"))
    [outgoing] = sent
    assert outgoing.card is not None
    assert (outgoing.card.uri, outgoing.card.title) == (site.url("/og"), "Khalkhin Gol")
    assert outgoing.card.description.startswith("How the 1939 battle")
    assert outgoing.card.thumb is not None and outgoing.card.thumb.size <= 1_000_000
    assert cached is not None and cached.fetched_at == NOW and cached.image == site.url("/img/thumb.png")
    assert len(pds.posts()) == 1


def test_a_page_that_cannot_be_read_never_fails_the_delivery(
    tmp_path: Path, pds: BlueskyFake, site: PagesFake, caplog: pytest.LogCaptureFixture
) -> None:
    root = workspace_for(tmp_path / "ws", pds, site.url("/missing"))
    sent: list[Outgoing] = []
    with (
        caplog.at_level(logging.WARNING, logger="tagcast.cards"),
        Store.open("sqlite:///var/tagcast.db", root=root) as store,
    ):
        send_due(root, store, sent)
        [delivery] = store.list()
        assert delivery.state is DeliveryState.SENT
    assert [outgoing.card for outgoing in sent] == [Card(site.url("/missing"), "Khalkhin Gol", "", None)]
    assert [r.getMessage() for r in caplog.records if r.name == "tagcast.cards"] == [
        f"bsky: posts/a.md: link card {site.url('/missing')}: the page cannot be read: "
        "it answered 404 Not Found"
    ]
    assert len(pds.posts()) == 1
