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
new delivery through :func:`scheduler.ingest.ingest` (``repost``). Fresh posts are never displaced: a channel
gets a recycled post only when nothing is queued for it (planned or retrying), and one at a time.
:func:`recycling_plan` is what would be queued now; :func:`recycle` queues it (``tagcast serve`` every
:data:`RECYCLE_EVERY`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from scheduler.config.loader import Workspace
from scheduler.config.models import RuleSettings
from scheduler.ingest import Composed, IngestReport, ingest
from scheduler.models import Post
from scheduler.pipeline import Pipeline
from scheduler.store import DeliveryState, Store
from scheduler.store.models import utc

WAITING = (DeliveryState.PLANNED, DeliveryState.RETRYING)
RECYCLE_EVERY = timedelta(minutes=15)
"""How often ``tagcast serve`` looks for articles to recycle (once across the cluster)."""


def _rules(workspace: Workspace) -> dict[str, RuleSettings]:
    rules = workspace.settings.rules
    return {rule.name or f"rule-{index + 1}": rule for index, rule in enumerate(rules) if rule.recycle_every}


def recycling_plan(
    pipeline: Pipeline, store: Store, *, now: datetime, paths: Sequence[Path] | None = None
) -> list[Post]:
    """The post of each channel that gets a recycled post now (not planned yet): at most one per channel,
    only for a channel with nothing waiting in the queue; the oldest-sent article first."""
    now = utc(now)
    rules = _rules(pipeline.workspace)
    if not rules:
        return []
    articles, _ = pipeline.load(paths)
    candidates: dict[str, list[tuple[datetime, Post]]] = {}
    busy: dict[str, bool] = {}
    for article in articles:
        for route in pipeline.router.route(article):
            rule = rules.get(route.rule)
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
            variants = rule.recycle_templates
            variant = variants[newest.generation % len(variants)]
            routed = dataclasses.replace(route, template=variant)
            post = dataclasses.replace(pipeline.compose_route(article, routed), slot_note="recycled")
            if not post.problems and list(post.parts) == list(newest.parts):
                continue  # the variant gives the text sent last time: never twice in a row
            candidates.setdefault(route.channel, []).append((newest.scheduled_at, post))
    return [min(found, key=lambda item: item[0])[1] for found in candidates.values()]


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
