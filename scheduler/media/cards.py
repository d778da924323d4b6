"""Link cards: the title, description and thumbnail a network shows under a post's link, for the networks
that build none themselves (``Adapter.builds_link_card``: Bluesky), on channels with ``link_card = true``.

One function decides a post's card for preview and for the service alike (:meth:`LinkCards.card_for`):

- a card is made when the article has a ``url`` and the post sends no images (images and a card are two
  kinds of embed; a post has one);
- its ``title`` is the article's title, else the page's (``og:title``, ``twitter:title``, ``<title>``);
- its ``description`` is the article's ``summary`` (front matter or JSON key), else the page's
  (``og:description``, ``twitter:description``, ``<meta name="description">``), else empty. Not the start of
  the body: the post's own text already says it, and a card repeating it reads like a bot;
- its thumbnail is the article's first image (when its images are not sent with the post), else the page's
  ``og:image`` (``twitter:image``), fitted to the network's ``card_thumb_bytes`` by the thumb fitter.

The page is fetched only when the article lacks one of these, once (:data:`PAGE_TTL`; a page that failed is
tried again after :data:`ERROR_TTL`), bounded in time and size (:class:`CardRules`), each hop only from an
address the rules allow (:mod:`scheduler.media.addresses`: a page at a private address gives the post no card,
with a warning, and is not remembered), parsed with lxml, and
remembered in the store (``link_pages``), so a second preview asks nothing of the network. A page that cannot
be read (timeout, an error status, not HTML, too big) is a warning and a card from the article alone, never a
failed delivery::

    cards = LinkCards(settings.channels, http=client, cache=StorePageCache(store), fit_thumb=fitter)
    card, warnings = await cards.card_for("bsky", article, media=())
    outgoing = await cards.prepare(outgoing)      # the send path: Outgoing.card filled, warnings logged
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urljoin, urlsplit

import regex

from scheduler.adapters.registry import load_adapter
from scheduler.errors import UserError
from scheduler.lazy import httpx
from scheduler.media.addresses import AddressPolicy, PrivateAddressError, UnresolvableHostError
from scheduler.media.model import Card, CardDraft, Media, PageMeta

if TYPE_CHECKING:
    from scheduler.adapters.base import Outgoing
    from scheduler.config.loader import Workspace
    from scheduler.config.models import ChannelSettings
    from scheduler.models import Article, Post
    from scheduler.store import Store

log = logging.getLogger("tagcast.cards")

ThumbFitter = Callable[[str, int], Awaitable[Media | None]]
"""Fits an image (an https URL or a local path) to at most ``max_bytes`` for a card thumbnail: the fitted
:class:`Media`, or ``None`` when it cannot be had (the media helpers of :mod:`scheduler.media` build it)."""

PAGE_TTL = timedelta(days=7)
"""A page's meta tags are fetched again after this long."""
ERROR_TTL = timedelta(hours=1)
"""A page that could not be read is tried again after this long (a second preview does not wait on it)."""
TITLE_MAX = 300
DESCRIPTION_MAX = 300
"""Graphemes of a card's title and description at most (the official Bluesky app shows two or three lines);
a longer one is cut at a grapheme boundary and ends with an ellipsis."""

USER_AGENT = "tagcast (link card)"
"""How tagcast names itself to the sites it reads meta tags from."""
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_TITLE_KEYS = ("og:title", "twitter:title")
_DESCRIPTION_KEYS = ("og:description", "twitter:description", "description")
_IMAGE_KEYS = ("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")


MAX_REDIRECTS = 20
"""Redirects followed from a link to its page at most (as many as httpx follows)."""


@dataclass(frozen=True, slots=True)
class CardRules:
    """How a page is fetched: a total ``deadline`` in seconds (connect, redirects, headers and body), a cap
    of ``max_bytes`` on the page read, how long what was read is kept, and the addresses each hop may go
    to (``[media] private_addresses``; default: public ones only)."""

    deadline: float = 10.0
    max_bytes: int = 2_000_000
    ttl: timedelta = PAGE_TTL
    error_ttl: timedelta = ERROR_TTL
    addresses: AddressPolicy = field(default_factory=AddressPolicy)


# --- reading a page --------------------------------------------------------------------------------------


def collapse(text: str) -> str:
    """``text`` on one line: every run of whitespace one space, none at the ends."""
    return " ".join(text.split())


def cut_graphemes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` grapheme clusters, ending with an ellipsis when it was cut::

    >>> cut_graphemes("Ein Büchlein über Flüsse", 10)
    'Ein Büchl…'
    """
    clusters = regex.findall(r"\X", text)
    if len(clusters) <= limit:
        return text
    return "".join(clusters[: limit - 1]).rstrip() + "…"


@dataclass(frozen=True, slots=True)
class PageTags:
    """What a page's head says about it: title, description and image URL (absolute), each or ``None``."""

    title: str | None = None
    description: str | None = None
    image: str | None = None


def _encoding(content: bytes, content_type: str) -> str:
    declared = httpx.Headers({"content-type": content_type}).get("content-type", "")
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", declared, re.IGNORECASE)
    if match is None:
        found = _CHARSET.search(content[:4096])
        name = found.group(1).decode("ascii") if found else "utf-8"
    else:
        name = match.group(1)
    try:
        return "utf-8" if name.lower() in ("utf8", "unicode") else codecs.lookup(name).name
    except LookupError:
        return "utf-8"


def parse_page(content: bytes, url: str, content_type: str = "text/html") -> PageTags:
    """The OpenGraph/Twitter meta tags of an HTML page (``<title>`` and ``<meta name="description">`` when
    it has none): entities decoded, whitespace collapsed, a relative image resolved against ``url``. Broken
    HTML is read as a browser would; a page with nothing to read gives empty tags."""
    from lxml import etree  # type: ignore[import-untyped]  # noqa: PLC0415  (lxml loads only for a page)
    from lxml import html as lxml_html  # noqa: PLC0415

    parser = lxml_html.HTMLParser(encoding=_encoding(content, content_type), no_network=True)
    try:
        root = lxml_html.document_fromstring(content, parser=parser)
    except (etree.ParserError, ValueError):
        return PageTags()
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        value = collapse(meta.get("content") or "")
        if key and value and key not in found:
            found[key] = value
    title = next((found[k] for k in _TITLE_KEYS if k in found), None)
    if title is None:
        element = root.find(".//title")
        title = collapse(element.text_content()) if element is not None else None
    description = next((found[k] for k in _DESCRIPTION_KEYS if k in found), None)
    image = None
    for key in _IMAGE_KEYS:
        if key in found:
            candidate = urljoin(url, found[key])
            if urlsplit(candidate).scheme in ("http", "https"):
                image = candidate
                break
    return PageTags(title=title or None, description=description or None, image=image)


class _PageError(Exception):
    """Why a page cannot be read (its message is the warning's reason)."""


async def fetch_page(http: httpx.AsyncClient, url: str, *, rules: CardRules, now: datetime) -> PageMeta:
    """Fetch ``url`` once, bounded by ``rules``, and read its meta tags; a page that cannot be read is a
    :class:`PageMeta` with ``error`` saying why. Redirects are followed here (whatever ``http`` does), each
    hop to an address ``rules.addresses`` allows, the one it checked: a hop that is not allowed raises
    :class:`PrivateAddressError` (the post then gets no card)."""
    try:
        async with asyncio.timeout(rules.deadline):
            final, response, content = await _get_page(http, url, rules)
    except _PageError as exc:
        return PageMeta(url=url, fetched_at=now, error=str(exc))
    except TimeoutError:
        return PageMeta(url=url, fetched_at=now, error=f"no complete answer within {rules.deadline:g} s")
    except UnresolvableHostError as exc:
        return PageMeta(url=url, fetched_at=now, error=exc.message)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        return PageMeta(url=url, fetched_at=now, error=f"cannot connect to {urlsplit(url).hostname}")
    except httpx.TimeoutException:
        return PageMeta(url=url, fetched_at=now, error="it timed out")
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:  # a URL or a scheme httpx cannot use
        return PageMeta(url=url, fetched_at=now, error=f"it cannot be fetched ({type(exc).__name__})")
    except httpx.HTTPError as exc:
        return PageMeta(url=url, fetched_at=now, error=f"the connection failed ({type(exc).__name__})")
    content_type = response.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime and mime not in _HTML_TYPES:
        return PageMeta(url=url, fetched_at=now, error=f"it is not an HTML page but {mime}")
    tags = parse_page(content, str(final), content_type)
    return PageMeta(url=url, fetched_at=now, title=tags.title, description=tags.description, image=tags.image)


async def _get_page(
    http: httpx.AsyncClient, url: str, rules: CardRules
) -> tuple[httpx.URL, httpx.Response, bytes]:
    """The page's final URL, its response and its body (at most ``rules.max_bytes``), redirects followed."""
    current = httpx.URL(url)
    headers = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1", "User-Agent": USER_AGENT}
    for _ in range(MAX_REDIRECTS + 1):
        if current.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"{current.scheme} is not fetched")
        try:
            hop = await asyncio.to_thread(rules.addresses.pin, current)
        except PrivateAddressError as exc:
            where = "" if str(current) == url else f"it redirects to {current}: "
            raise PrivateAddressError(where + exc.message, hint=exc.hint) from None
        request = http.build_request(
            "GET", hop.url, headers={**headers, **hop.headers}, extensions=hop.extensions
        )
        response = await http.send(request, stream=True, follow_redirects=False)
        try:
            if response.is_redirect and "location" in response.headers:
                current = current.join(response.headers["location"])
                continue
            if not response.is_success:
                reason = f"it answered {response.status_code} {response.reason_phrase}".strip()
                raise _PageError(reason)
            return current, response, await _read_capped(response, rules.max_bytes)
        finally:
            await response.aclose()
    raise _PageError("it redirects too many times")


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    too_big = _PageError(f"the page is larger than {max_bytes} bytes")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


# --- the cache -------------------------------------------------------------------------------------------


class PageCache(Protocol):
    """Where fetched pages are remembered (:class:`StorePageCache`: the store's ``link_pages``)."""

    async def get(self, url: str) -> PageMeta | None: ...

    async def put(self, page: PageMeta) -> None: ...


class PageStore(Protocol):
    def link_page(self, url: str) -> PageMeta | None: ...

    def save_link_page(self, page: PageMeta) -> None: ...


R = TypeVar("R")
StoreCall = Callable[..., Awaitable[Any]]
"""Runs a store method off the event loop (:class:`~scheduler.service.storecalls.StoreCalls`)."""


class StorePageCache:
    """The store's ``link_pages`` as a :class:`PageCache`; ``call`` runs each store method (the service
    passes its :class:`~scheduler.service.storecalls.StoreCalls`; preview calls the store directly)."""

    def __init__(self, store: PageStore, call: StoreCall | None = None) -> None:
        self.store = store
        self.call = call

    async def _run(self, func: Callable[..., R], *args: Any) -> R:
        if self.call is None:
            return func(*args)
        result: R = await self.call(func, *args)
        return result

    async def get(self, url: str) -> PageMeta | None:
        return await self._run(self.store.link_page, url)

    async def put(self, page: PageMeta) -> None:
        await self._run(self.store.save_link_page, page)


# --- drafts and cards ------------------------------------------------------------------------------------


def article_summary(article: Article) -> str | None:
    summary = article.extra.get("summary")
    if isinstance(summary, str) and summary.strip():
        return collapse(summary)
    return None


def local_src(article: Article, src: str, root: Path) -> str:
    """An article image's ``src`` as the fitter takes it: a URL as it is, a relative path made absolute
    from the article file's folder."""
    if "://" in src:
        return src
    path = Path(src)
    if not path.is_absolute():
        path = root / Path(article.source.split("#", 1)[0]).parent / path
    return str(path)


async def make_card(
    draft: CardDraft, fit_thumb: ThumbFitter | None, max_bytes: int | None
) -> tuple[Card, list[str]]:
    """The card of ``draft`` with its thumbnail fitted to ``max_bytes`` (none without a fitter or a bound),
    and the warnings (a thumbnail that cannot be had)."""
    if draft.thumb_src is None or fit_thumb is None or max_bytes is None:
        return Card(draft.uri, draft.title, draft.description), []
    why = "it cannot be read as an image"
    try:
        thumb = await fit_thumb(draft.thumb_src, max_bytes)
    except (UserError, OSError, ValueError, httpx.HTTPError) as exc:
        thumb, why = None, str(exc) or type(exc).__name__
    if thumb is not None and thumb.size > max_bytes:
        why = f"it is {thumb.size} bytes after fitting, over the {max_bytes} a thumbnail may have"
        thumb = None
    if thumb is None:
        warning = f"link card {draft.uri}: no thumbnail from {draft.thumb_src}: {why}"
        return Card(draft.uri, draft.title, draft.description), [warning]
    return Card(draft.uri, draft.title, draft.description, thumb), []


def card_thumb_bytes(
    settings: ChannelSettings | None, article: Article, media: Sequence[Media]
) -> int | None:
    """Whether the post of ``article`` on a channel with ``settings`` that sends ``media`` gets a link card:
    ``None`` when not, else the bound of its thumbnail in bytes (0: the network takes none)."""
    if settings is None or not settings.link_card or not article.url or media:
        return None
    try:
        adapter = load_adapter(settings.network)
    except UserError:
        return None
    if not adapter.builds_link_card:
        return None
    limits = adapter.media_limits
    return (limits.card_thumb_bytes if limits is not None else None) or 0


class LinkCards:
    """Makes the link cards of posts: decides which post gets one, drafts it from the article and the page
    (fetched through ``cache``), and fits its thumbnail with ``fit_thumb``. ``http`` should follow
    redirects; ``clock`` gives the time the cache is read against."""

    def __init__(
        self,
        channels: Mapping[str, ChannelSettings],
        *,
        http: httpx.AsyncClient,
        cache: PageCache,
        fit_thumb: ThumbFitter | None,
        root: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rules: CardRules | None = None,
    ) -> None:
        self.channels = channels
        self.http = http
        self.cache = cache
        self.fit_thumb = fit_thumb
        self.root = root
        self.clock = clock
        self.rules = rules or CardRules()
        self._pages: dict[str, asyncio.Task[PageMeta]] = {}

    def thumb_bytes(self, channel: str, article: Article, media: Sequence[Media]) -> int | None:
        """``None`` when the post on ``channel`` gets no card; else the bound of its thumbnail (0: none)."""
        return card_thumb_bytes(self.channels.get(channel), article, media)

    async def page(self, url: str) -> PageMeta:
        """The page's meta tags: from the cache while fresh, else fetched (once, however many ask at once)
        and remembered."""
        task = self._pages.get(url)
        if task is None:
            task = asyncio.ensure_future(self._page(url))
            self._pages[url] = task
            task.add_done_callback(lambda _: self._pages.pop(url, None))
        return await asyncio.shield(task)

    async def _page(self, url: str) -> PageMeta:
        now = self.clock()
        try:
            cached = await self.cache.get(url)
        except Exception:
            log.exception("link card %s: the cache cannot be read; the page is fetched", url)
            cached = None
        if cached is not None:
            ttl = self.rules.error_ttl if cached.error is not None else self.rules.ttl
            if timedelta(0) <= now - cached.fetched_at < ttl:
                return cached
        page = await fetch_page(self.http, url, rules=self.rules, now=now)
        try:
            await self.cache.put(page)
        except Exception:
            log.exception("link card %s: what was fetched cannot be cached", url)
        return page

    async def draft(
        self, article: Article, *, sends_images: bool = False, read_page: bool = True
    ) -> tuple[CardDraft, list[str]]:
        """The card of ``article`` (which has a url) before its thumbnail is fitted, and any warning.
        ``sends_images``: the article's images go with the post, so none of them is the thumbnail.
        ``read_page`` false: the card is made from the article alone (preview of a disabled channel)."""
        url = article.url or ""
        title = collapse(article.title)
        description = article_summary(article)
        thumb = None
        if article.images and not sends_images:
            thumb = local_src(article, article.images[0].src, self.root)
        warnings: list[str] = []
        if read_page and (not title or description is None or thumb is None):
            page = await self.page(url)
            if page.error is not None:
                warnings.append(f"link card {url}: the page cannot be read: {page.error}")
            title = title or page.title or ""
            description = description if description is not None else page.description or ""
            thumb = thumb or page.image
        return (
            CardDraft(
                uri=url,
                title=cut_graphemes(title, TITLE_MAX),
                description=cut_graphemes(description or "", DESCRIPTION_MAX),
                thumb_src=thumb,
            ),
            warnings,
        )

    async def card_for(
        self, channel: str, article: Article, media: Sequence[Media] = (), *, read_page: bool = True
    ) -> tuple[Card | None, list[str]]:
        """The link card of the post of ``article`` on ``channel`` that sends ``media`` (``None``: it gets
        none), and the warnings. Preview and the service both call this."""
        bound = self.thumb_bytes(channel, article, media)
        if bound is None:
            return None, []
        try:
            draft, warnings = await self.draft(article, sends_images=bool(media), read_page=read_page)
        except PrivateAddressError as exc:  # the text still goes, with no card
            why = f"{exc.message}; the post goes without a link card ({exc.hint})"
            return None, [f"link card {article.url}: {why}"]
        card, more = await make_card(draft, self.fit_thumb, bound or None)
        return card, warnings + more

    async def prepare(self, outgoing: Outgoing) -> Outgoing:
        """The send path: ``outgoing`` with its card (warnings are logged); never raises for a page."""
        try:
            card, warnings = await self.card_for(outgoing.channel, outgoing.article, outgoing.media)
        except Exception:
            log.exception("%s: the link card cannot be made; the post goes without it", outgoing.channel)
            return outgoing
        for warning in warnings:
            log.warning("%s: %s: %s", outgoing.channel, outgoing.article.source, warning)
        return replace(outgoing, card=card) if card is not None else outgoing

    async def fill(self, posts: Sequence[Post], *, concurrency: int = 8) -> tuple[list[Post], list[str]]:
        """Preview: ``posts`` with their cards (only the posts that get one change), and the warnings, each
        naming the article and channel. Pages are fetched ``concurrency`` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(post: Post) -> tuple[Post, list[str]]:
            async with gate:
                # a disabled channel sends nothing: its card is made from the article, no page is read
                card, warnings = await self.card_for(
                    post.channel, post.article, post.media, read_page=post.active
                )
            named = [f"{post.source} ({post.channel}): {warning}" for warning in warnings]
            return (replace(post, card=card) if card is not None else post), named

        done = await asyncio.gather(*(one(post) for post in posts))
        return [post for post, _ in done], [warning for _, found in done for warning in found]


# --- preview ---------------------------------------------------------------------------------------------


class MemoryPageCache:
    """A :class:`PageCache` for one run, when the outbox cannot be opened."""

    def __init__(self) -> None:
        self.pages: dict[str, PageMeta] = {}

    async def get(self, url: str) -> PageMeta | None:
        return self.pages.get(url)

    async def put(self, page: PageMeta) -> None:
        self.pages[page.url] = page


class PreviewCards:
    """The card step of preview (``Pipeline(workspace, cards=PreviewCards(workspace))``): fills ``Post.card``
    with :meth:`LinkCards.card_for`, as the service does, caching pages in the workspace's outbox (opened
    only when a post gets a card). ``fit_thumb`` fits thumbnails (none without it); ``rules`` default to
    the workspace's (``[media] private_addresses``); ``transport`` lets a test route the page fetches."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        fit_thumb: ThumbFitter | None = None,
        rules: CardRules | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.workspace = workspace
        self.fit_thumb = fit_thumb
        self.rules = rules or CardRules(addresses=AddressPolicy.of(workspace.settings))
        self.transport = transport

    def __call__(self, posts: list[Post]) -> tuple[list[Post], list[str]]:
        return asyncio.run(self.fill(posts))

    async def fill(self, posts: list[Post]) -> tuple[list[Post], list[str]]:
        settings = self.workspace.settings
        channels = settings.channels
        carded = [
            p for p in posts if card_thumb_bytes(channels.get(p.channel), p.article, p.media) is not None
        ]
        if not carded:
            return posts, []
        warnings: list[str] = []
        store: Store | None = None
        if any(post.active for post in carded):  # pages are read, and remembered, for these only
            # imported (with SQLAlchemy) only when a page is read: a preview without one stays small
            from scheduler.store import Store, StoreError  # noqa: PLC0415

            try:
                store = Store.open(settings.store.url, root=self.workspace.root)
            except StoreError as exc:
                warnings.append(
                    f"link cards: the outbox cannot be opened ({exc}); pages are fetched without it"
                )
        cache: PageCache = StorePageCache(store) if store is not None else MemoryPageCache()
        try:
            async with httpx.AsyncClient(follow_redirects=True, transport=self.transport) as http:
                cards = LinkCards(
                    channels,
                    http=http,
                    cache=cache,
                    fit_thumb=self.fit_thumb,
                    root=self.workspace.root,
                    rules=self.rules,
                )
                filled, more = await cards.fill(posts)
        finally:
            if store is not None:
                store.close()
        return filled, warnings + more
