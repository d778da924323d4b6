"""What the link card tests share: a thumb fitter that reads a real image (a local file, or a URL fetched
from the fake site), articles, channels and a :class:`LinkCards` on a real SQLite store."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from intranet import allow_private
from PIL import Image

from scheduler.config.models import ChannelSettings
from scheduler.media.cards import CardRules, LinkCards, StorePageCache, ThumbFitter
from scheduler.media.model import ImageRef, Media
from scheduler.models import Article
from scheduler.store import Store

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def simple_fitter(folder: Path, http: httpx.AsyncClient, calls: list[tuple[str, int]]) -> ThumbFitter:
    """Reads the image as it is (a file, or a URL), refusing nothing: the card decides what is too big."""

    async def fit(src: str, max_bytes: int) -> Media | None:
        calls.append((src, max_bytes))
        if "://" in src:
            response = await http.get(src)
            if response.status_code != 200:
                return None
            data = response.content
        else:
            data = Path(src).read_bytes()
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height, kind = image.width, image.height, image.format or "PNG"
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        path = folder / f"{digest}.{kind.lower()}"
        path.write_bytes(data)
        mime = f"image/{kind.lower()}"
        return Media(src, "", path, mime, width, height, len(data), digest)

    return fit


def channels(**extra: dict[str, Any]) -> dict[str, ChannelSettings]:
    """``bsky`` (bluesky, link_card on), ``bsky2`` (a second account), ``masto`` (mastodon) and any more."""
    found = {
        "bsky": ChannelSettings(network="bluesky", handle="me.example.org"),
        "bsky2": ChannelSettings(network="bluesky", handle="other.example.org"),
        "masto": ChannelSettings(network="mastodon"),
    }
    found.update({name: ChannelSettings(**values) for name, values in extra.items()})
    return found


def article(url: str | None, **fields: Any) -> Article:
    values: dict[str, Any] = {
        "source": "posts/khalkhin.md",
        "title": "Khalkhin Gol, 1939",
        "body": "The body.",
    }
    values.update(fields)
    return Article(url=url, **values)


def with_image(src: str, alt: str = "A map") -> tuple[ImageRef, ...]:
    return (ImageRef(src, alt),)


@asynccontextmanager
async def link_cards(
    store: Store,
    root: Path,
    *,
    clock: Callable[[], datetime] = lambda: NOW,
    rules: CardRules | None = None,
    fitted: list[tuple[str, int]] | None = None,
    chans: dict[str, ChannelSettings] | None = None,
) -> AsyncIterator[LinkCards]:
    """A :class:`LinkCards` fetching through a client that follows redirects, caching in ``store``; the
    fake site is on loopback, so ``rules`` allow private addresses unless a test gives its own."""
    thumbs = root / "thumbs"
    thumbs.mkdir(exist_ok=True)
    async with httpx.AsyncClient(follow_redirects=True) as http:
        yield LinkCards(
            chans or channels(),
            http=http,
            cache=StorePageCache(store),
            fit_thumb=simple_fitter(thumbs, http, fitted if fitted is not None else []),
            root=root,
            clock=clock,
            rules=rules or CardRules(deadline=5.0, addresses=allow_private()),
        )
