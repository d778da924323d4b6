"""Evergreen recycling: a rule with ``recycle_every`` shares its articles again, in free slots only.

::

    [[rules]]
    tags = ["Evergreen"]
    channels = ["masto"]
    recycle_every = "30d"                          # at least this long after the article's last post
    recycle_max = 3                                # at most 3 re-shares (default: no limit)
    recycle_templates = ["again.j2", "ago.j2"]     # rotated: never the same text twice in a row

An article of such a rule whose newest delivery on a channel was sent at least ``recycle_every`` ago is
rendered with the next template of ``recycle_templates`` (the one after the previous post's) and queued as a
new delivery through :func:`scheduler.ingest.ingest` (``repost``); a variant whose text is the article's
last post or the channel's last post is passed over for the next one, so the same text never goes out twice
in a row on a channel, even from two articles. Fresh posts are never displaced: a channel
gets a recycled post only when nothing is queued for it (planned or retrying), and one at a time.
:func:`recycling_plan` is what would be queued now; :func:`recycle` queues it (``tagcast serve`` every
:data:`RECYCLE_EVERY`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from scheduler.config.loader import Workspace
from scheduler.config.models import RuleSettings, SourceSettings
from scheduler.config.settings import Settings
from scheduler.feeds.poll import entry_source, source_label
from scheduler.ingest import Composed, IngestReport, ingest
from scheduler.models import Article, Post
from scheduler.pipeline import Pipeline
from scheduler.routing import Route
from scheduler.store import DeliveryState, Store
from scheduler.store.models import utc

WAITING = (DeliveryState.PLANNED, DeliveryState.RETRYING)
RECYCLE_EVERY = timedelta(minutes=15)
"""How often ``tagcast serve`` looks for articles to recycle (once across the cluster)."""


class Recycles(Protocol):
    """The recycling keys, the same on a rule (``[[rules]]``) and on a source (``[sources.NAME]``)."""

    @property
    def recycle_every(self) -> timedelta | None: ...
    @property
    def recycle_max(self) -> int | None: ...
    @property
    def recycle_templates(self) -> list[str]: ...


def _rules(workspace: Workspace) -> dict[str, RuleSettings]:
    rules = workspace.settings.rules
    return {rule.name or f"rule-{index + 1}": rule for index, rule in enumerate(rules) if rule.recycle_every}


def _sources(workspace: Workspace) -> dict[str, SourceSettings]:
    return {name: source for name, source in workspace.settings.sources.items() if source.recycle_every}


def recycles(settings: Settings) -> bool:
    """Whether any rule or source recycles, or a rule plans anniversaries (``tagcast serve`` then looks for
    re-shares every :data:`RECYCLE_EVERY`)."""
    return any(rule.recycle_every or rule.anniversary for rule in settings.rules) or any(
        source.recycle_every for source in settings.sources.values()
    )


def source_articles(store: Store, name: str) -> list[Article]:
    """The articles of the entries a polled feed has queued, as the outbox holds them (its newest delivery of
    each, on any channel): what the source can recycle. An entry remembered but never queued (older than the
    first poll's ``backfill``) was never posted, so it is not re-shared either."""
    label = source_label(name)
    channels = list(store.counts())
    articles: list[Article] = []
    for identity, queued in store.feed_entries(name).items():
        if not queued:
            continue
        source = entry_source(label, identity)
        found = [delivery for channel in channels if (delivery := store.find(source, channel))]
        if found:
            articles.append(max(found, key=lambda delivery: delivery.created_at).to_article())
    return articles


def recycling_plan(
    pipeline: Pipeline, store: Store, *, now: datetime, paths: Sequence[Path] | None = None
) -> list[Post]:
    """The post of each channel that gets a recycled post now (not planned yet): at most one per channel,
    only for a channel with nothing waiting in the queue; the oldest-sent article first.

    The articles are those of ``paths`` (default: the posts folder) when a rule recycles, and those of every
    source that recycles (:func:`source_articles`); a rule's recycling keys win over its source's. Then the
    anniversaries due again (:func:`anniversaries_plan`), which keep their fixed time."""
    now = utc(now)
    rules = _rules(pipeline.workspace)
    sources = _sources(pipeline.workspace)
    yearly = any(rule.anniversary for rule in pipeline.workspace.settings.rules)
    posts = pipeline.load(paths)[0] if rules or yearly else []
    planned = _recycled(pipeline, store, now=now, rules=rules, sources=sources, posts=posts)
    return planned + (anniversaries_plan(pipeline, store, now=now, articles=posts) if yearly else [])


def anniversaries_plan(
    pipeline: Pipeline, store: Store, *, now: datetime, articles: Sequence[Article]
) -> list[Post]:
    """The post of every anniversary that went out and whose next anniversary is not
    queued yet: each year's anniversary is queued once the one before was sent, at the first slot of that
    day (:mod:`scheduler.slots.anniversary`), with that year's ``years_ago``."""
    planned = []
    for article in articles:
        if "event_date" not in article.extra or article.publish_at is not None:
            continue
        for post in pipeline.compose(article, now=now):
            moment = post.article.publish_at
            if post.problems or moment is None or "years_ago" not in post.article.extra:
                continue  # not an anniversary route, or one that cannot be planned (reported by ingest)
            newest = store.find(article.source, post.channel)
            if newest is None or newest.state is not DeliveryState.SENT or newest.scheduled_at >= moment:
                continue
            note = f"anniversary, {post.article.extra['years_ago']} years"
            planned.append(dataclasses.replace(post, slot_note=note))
    return planned


def _recycled(
    pipeline: Pipeline,
    store: Store,
    *,
    now: datetime,
    rules: Mapping[str, RuleSettings],
    sources: Mapping[str, SourceSettings],
    posts: Sequence[Article],
) -> list[Post]:
    articles: list[tuple[Article, Recycles | None]] = [(article, None) for article in posts if rules]
    for name, source in sources.items():
        articles += [(article, source) for article in source_articles(store, name)]
    candidates: dict[str, list[tuple[datetime, Post]]] = {}
    busy: dict[str, bool] = {}
    last_texts: dict[str, tuple[str, ...]] = {}
    counts = store.counts()
    for article, from_source in articles:
        for route in pipeline.router.route(article):
            rule: Recycles | None = rules.get(route.rule) or from_source
            if rule is None or rule.recycle_every is None:
                continue
            if route.channel not in busy:
                busy[route.channel] = bool(store.list(states=WAITING, channel=route.channel, limit=1))
            if busy[route.channel]:
                continue
            newest = store.find(article.source, route.channel)
            if newest is None or newest.state is not DeliveryState.SENT:
                continue
            if newest.scheduled_at + rule.recycle_every > now:
                continue
            if rule.recycle_max is not None and newest.generation > rule.recycle_max:
                continue
            if route.channel not in last_texts:
                last_texts[route.channel] = _last_sent_text(store, route.channel, counts)
            avoided = {tuple(newest.parts), last_texts[route.channel]}
            post = _variant(
                pipeline,
                article,
                route,
                variants=rule.recycle_templates,
                generation=newest.generation,
                avoided=avoided,
            )
            if post is not None:
                candidates.setdefault(route.channel, []).append((newest.scheduled_at, post))
    chosen = [min(found, key=lambda item: item[0])[1] for found in candidates.values()]
    return [dataclasses.replace(post, slot_note="recycled") for post in chosen]


def _variant(
    pipeline: Pipeline,
    article: Article,
    route: Route,
    *,
    variants: Sequence[str],
    generation: int,
    avoided: Collection[tuple[str, ...]],
) -> Post | None:
    """The article rendered with the first variant, from the one after its previous re-share's, whose text
    is none of ``avoided`` (its own last post and the channel's last post); None when every variant gives
    one of them (the article waits for a later turn)."""
    for step in range(len(variants)):
        routed = dataclasses.replace(route, template=variants[(generation + step) % len(variants)])
        post = pipeline.compose_route(article, routed)
        if post.problems or tuple(post.parts) not in avoided:
            return post
    return None


def _last_sent_text(store: Store, channel: str, counts: Mapping[str, Mapping[str, int]]) -> tuple[str, ...]:
    """The parts of the channel's last post sent (by slot), () when it has none."""
    sent = counts.get(channel, {}).get(DeliveryState.SENT.value, 0)
    if not sent:
        return ()
    newest = store.list(states=[DeliveryState.SENT], channel=channel, limit=1, offset=sent - 1)
    return tuple(newest[0].parts) if newest else ()


def recycle(
    workspace: Workspace,
    store: Store,
    pipeline: Pipeline,
    *,
    now: datetime,
    planned: list[Post] | None = None,
) -> IngestReport:
    """Queue what :func:`recycling_plan` chose (``planned``: already made, off the store thread), each as a
    new delivery in its channel's next free slot (planned by :func:`~scheduler.ingest.ingest`)."""
    if planned is None:
        planned = recycling_plan(pipeline, store, now=now)
    if not planned:
        return IngestReport()
    sources = [Path(post.source) for post in planned]
    prepared = Composed(planned, [], [post.article for post in planned])
    return ingest(workspace, store, sources, now=now, repost=True, pipeline=pipeline, prepared=prepared)
