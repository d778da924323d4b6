"""What the service adds to a post right before it is published: the article's images fitted to the
network (:class:`~scheduler.media.prepare.MediaPreparer`), then its link card
(:meth:`~scheduler.media.cards.LinkCards.prepare`), computed by the same functions preview uses.

The service passes one :class:`SendPreparation` to its dispatcher as ``prepare``; it follows a reloaded
config (``workspace`` is asked each time) and keeps link pages in the outbox through the store thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from scheduler.adapters.base import Outgoing
from scheduler.config.loader import Workspace
from scheduler.lazy import httpx
from scheduler.media.addresses import AddressPolicy
from scheduler.media.cards import CardRules, LinkCards, PageStore, StorePageCache
from scheduler.media.prepare import MediaCache, MediaPreparer, ThumbFitter


class SendPreparation:
    """``await preparation(outgoing)``: ``outgoing`` with its images, then its link card (a card is made only
    for a post that sends no images). ``pages`` fetches link pages (it should follow redirects); ``call``
    runs the store's methods off the event loop."""

    def __init__(
        self,
        workspace: Callable[[], Workspace],
        *,
        store: PageStore,
        pages: httpx.AsyncClient,
        call: Callable[..., Awaitable[Any]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        cache = MediaCache.for_workspace(workspace())  # one cache: a card thumb is processed as an image
        self.workspace = workspace
        self.images = MediaPreparer(workspace, cache=cache)
        self.thumbs = ThumbFitter(cache)
        self.page_cache = StorePageCache(store, call)
        self.pages = pages
        self.clock = clock
        self._cards: tuple[object, LinkCards] | None = None

    def cards(self) -> LinkCards:
        """The link cards of the current config (made again after a reload)."""
        workspace = self.workspace()
        if self._cards is None or self._cards[0] is not workspace.settings:
            made = LinkCards(
                workspace.settings.channels,
                http=self.pages,
                cache=self.page_cache,
                fit_thumb=self.thumbs,
                root=workspace.root,
                clock=self.clock,
                rules=CardRules(addresses=AddressPolicy.of(workspace.settings)),
            )
            self._cards = (workspace.settings, made)
        return self._cards[1]

    async def __call__(self, outgoing: Outgoing) -> Outgoing:
        return await self.cards().prepare(await self.images(outgoing))
