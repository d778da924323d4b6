"""Poll one ``[sources.NAME]`` feed and queue its entries through :func:`scheduler.ingest.ingest`.

A poll is two steps so that the service can run the slow one away from its store thread:

- :func:`prepare_poll` (any thread): fetch, parse, decide which entries to ingest, render them;
- :func:`commit_poll` (the store thread): ingest the rendered posts, remember the entries and validators.

Which entries are ingested: at the first successful poll, only the ``backfill`` newest (the others are
remembered as seen and never queued); later, every entry not seen before, and every entry that was queued
(so an edit before its slot updates the queued post, and after it is reported as already sent). A failed
poll (network, HTTP status, size, deadline, broken feed) changes nothing but the source's recorded error::

    poll_source("history", workspace, store, pipeline, client, now=now)   # both steps, on this thread
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from scheduler.articles.feed import FEED_SOURCES, Feed, entry_source, feed_articles, newest_first, parse_feed
from scheduler.articles.fields import ArticleOptions
from scheduler.config.loader import Workspace
from scheduler.errors import ArticleError
from scheduler.feeds.fetch import FeedFetchError, Fetched, fetch_feed
from scheduler.ingest import Composed, IngestReport, ingest
from scheduler.models import Article
from scheduler.pipeline import Pipeline
from scheduler.store import Store

log = logging.getLogger("tagcast.feeds")


def source_label(name: str) -> str:
    """The ``file`` part of the sources of a feed's articles: ``sources/NAME`` (``sources/NAME#ENTRY-ID``)."""
    return f"{FEED_SOURCES}{name}"


@dataclass
class PreparedPoll:
    """What a poll fetched and rendered, waiting for the store: ``error`` set when the poll failed."""

    name: str
    fetched: Fetched | None = None
    composed: Composed | None = None
    entries: dict[str, bool] = field(default_factory=dict)
    error: str | None = None


@dataclass
class PollResult:
    """What a poll did: ``not_modified``, the ingest report, or the ``error`` that stopped it."""

    name: str
    not_modified: bool = False
    report: IngestReport | None = None
    error: str | None = None
    new_entries: int = 0
    newly_failing: bool = False
    """The poll failed and the one before did not (or there was none): worth an alert."""


def _identity(article: Article) -> str:
    return article.id or article.source


def prepare_poll(
    name: str, workspace: Workspace, store: Store, pipeline: Pipeline, client: httpx.Client
) -> PreparedPoll:
    """Fetch, parse, pick and render (no write to the store)."""
    settings = workspace.settings.sources[name]
    state = store.feed_state(name)
    prepared = PreparedPoll(name)
    try:
        prepared.fetched = fetch_feed(
            client,
            settings.url,
            root=workspace.root,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
            max_bytes=settings.max_bytes,
            timeout=settings.timeout.total_seconds(),
        )
        if prepared.fetched.body is None:
            return prepared
        feed = parse_feed(prepared.fetched.body, source=f"source {name} ({settings.url})")
    except (FeedFetchError, ArticleError) as exc:
        prepared.error = str(exc).replace("\n  hint: ", "; ")
        return prepared
    first = state is None or state.ok_at is None
    articles, errors = _articles(feed, name, pipeline)
    wanted = _pick(feed, articles, store.feed_entries(name), first=first, backfill=settings.backfill)
    prepared.entries = {_identity(article): queue for article, queue in wanted}
    chosen = [article for article, queue in wanted if queue]
    posts = [post for article in chosen for post in pipeline.compose(article)]
    prepared.composed = Composed(posts, errors, chosen)
    return prepared


def _articles(feed: Feed, name: str, pipeline: Pipeline) -> tuple[list[Article], list[ArticleError]]:
    settings = pipeline.workspace.settings
    options = ArticleOptions(
        aliases=settings.hashtags.aliases,
        blocklist=settings.hashtags.blocklist,
        timezone=pipeline.timezone,
        channels=frozenset(settings.channels),
    )
    image_alt = settings.sources[name].image_alt
    return feed_articles(feed, file=source_label(name), options=options, image_alt=image_alt)


def _pick(
    feed: Feed, articles: Sequence[Article], seen: dict[str, bool], *, first: bool, backfill: int
) -> list[tuple[Article, bool]]:
    """(article, ingest it?) for every article to remember: see the module docstring."""
    if first:
        order = [entry.identity for entry in newest_first(feed.entries)]
        kept = set(order[:backfill])
        return [(article, _identity(article) in kept) for article in articles]
    return [(article, True) for article in articles if seen.get(_identity(article), True)]


def commit_poll(
    prepared: PreparedPoll, workspace: Workspace, store: Store, pipeline: Pipeline, *, now: datetime
) -> PollResult:
    """Ingest what :func:`prepare_poll` rendered and record the poll (on the store thread)."""
    name = prepared.name
    if prepared.error is not None:
        before = store.feed_state(name)
        store.record_feed_poll(name, now=now, error=prepared.error)
        newly = before is None or before.error is None
        return PollResult(name, error=prepared.error, newly_failing=newly)
    fetched = prepared.fetched
    assert fetched is not None
    if prepared.composed is None:
        state = store.feed_state(name)
        store.record_feed_poll(
            name, now=now, etag=fetched.etag, last_modified=(state.last_modified if state else None)
        )
        return PollResult(name, not_modified=True)
    known = store.feed_entries(name)
    report = ingest(
        workspace, store, [Path(source_label(name))], now=now, pipeline=pipeline, prepared=prepared.composed
    )
    store.record_feed_entries(name, prepared.entries, now=now)
    store.record_feed_poll(name, now=now, etag=fetched.etag, last_modified=fetched.last_modified)
    new = sum(1 for entry, queued in prepared.entries.items() if queued and entry not in known)
    return PollResult(name, report=report, new_entries=new)


def poll_source(
    name: str, workspace: Workspace, store: Store, pipeline: Pipeline, client: httpx.Client, *, now: datetime
) -> PollResult:
    """Both steps of one poll on this thread (``tagcast serve --once``, tests)."""
    result = commit_poll(
        prepare_poll(name, workspace, store, pipeline, client), workspace, store, pipeline, now=now
    )
    log_poll(result)
    return result


def log_poll(result: PollResult) -> None:
    if result.error is not None:
        log.warning("source %s: poll failed: %s", result.name, result.error, extra={"source": result.name})
        return
    if result.not_modified:
        log.debug("source %s: not modified", result.name)
        return
    report = result.report
    assert report is not None
    for error in report.errors:
        log.warning("source %s: entry skipped: %s", result.name, error)
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts().items())) or "no posts"
    log.info("source %s: %d new entry(ies); %s", result.name, result.new_entries, counts)


__all__ = [
    "PollResult",
    "PreparedPoll",
    "commit_poll",
    "entry_source",
    "log_poll",
    "poll_source",
    "prepare_poll",
    "source_label",
]
