"""Ingestion: articles in ``posts/`` -> the pipeline -> the outbox (``tagcast queue add`` and the service).

It runs the very functions preview runs (:meth:`Pipeline.load`, :meth:`Pipeline.compose`, the planning of
:mod:`scheduler.planning`), so what is queued is what was previewed. The outbox decides about each post once,
in the one transaction that writes them all (:meth:`~scheduler.store.Store.upsert_each`); only posts that
become new deliveries are then planned, with every slot held in the outbox as ``taken``: a new post takes the
next free slot after what is queued, and a queued post keeps its slot. The rules
(:func:`scheduler.store.ingest_ops.decide`):

- the same text again changes nothing; an edit before the slot updates the queued text in place, and a
  changed ``publish_at`` moves a planned delivery to the new time;
- an edit of a delivery that is sending, retrying or unknown is left alone and reported (its idempotency key
  may already be at the network with the old text);
- an edit after it was sent is reported as ``already-sent``, or with ``repost`` queued as a new delivery;
- posts with problems and posts of disabled channels are reported and not queued; an article that cannot be
  read is reported and nothing queued for it is touched;
- a queued delivery whose article left ``posts/`` (or no longer routes to its channel) stays queued and is
  reported: nothing queued is ever lost by editing files;
- a post continues the delivery of its article's identity (:mod:`scheduler.identity`), else its file's: a
  renamed file takes its delivery along (``renamed``), a copy under another name is a ``duplicate``
  (reported, not posted; ``repost`` posts it); see :meth:`~scheduler.store.Store.upsert_result`;
- a new outbox does not flood: an article never queued whose ``publish_at`` is more than :data:`HOLD_BACK`
  before the outbox's epoch (its first ingest) is ``held-back``; ``backfill`` queues it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from scheduler.articles.feed import FEED_SOURCES
from scheduler.config.loader import Workspace
from scheduler.errors import ArticleError
from scheduler.identity import article_identity, describe
from scheduler.models import Article, Post
from scheduler.pipeline import Pipeline
from scheduler.planning import Planner, place
from scheduler.store import Delivery, DeliveryState, Store, UpsertOutcome
from scheduler.store.ingest_ops import RECENT_SENT, Match, Settle, UpsertPlan, UpsertResult
from scheduler.store.models import utc

_PAGE = 500

HOLD_BACK = timedelta(days=1)
"""A new outbox does not send an article by itself whose ``publish_at`` is more than this before its epoch."""


@dataclass(frozen=True)
class IngestItem:
    """What happened to one post: the outcome, the delivery concerned (if any), and why, in words."""

    post: Post
    outcome: UpsertOutcome
    delivery: Delivery | None = None
    detail: str = ""

    @property
    def source(self) -> str:
        return self.post.source

    @property
    def channel(self) -> str:
        return self.post.channel


@dataclass(frozen=True)
class Orphan:
    """A queued delivery whose article is gone from the folder, or no longer routes to its channel."""

    delivery: Delivery
    reason: str


@dataclass
class IngestReport:
    """Every post's outcome, the articles that could not be read, and the queued deliveries left without an
    article. ``ok`` is false when something needs the user's attention (an unreadable article, a post with
    problems)."""

    items: list[IngestItem] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    epoch: datetime | None = None

    @property
    def held_back(self) -> list[str]:
        """The articles (sources) not queued because a new outbox does not send the past by itself."""
        return sorted({item.source for item in self.items if item.outcome is UpsertOutcome.HELD_BACK})

    def held_back_note(self) -> str | None:
        """What to tell the user about :attr:`held_back` (None when nothing was held back)."""
        held = self.held_back
        if not held:
            return None
        articles = "1 article was" if len(held) == 1 else f"{len(held)} articles were"
        since = f" (its first use: {self.epoch.isoformat(timespec='minutes')})" if self.epoch else ""
        return (
            f"{articles} held back: publish_at is more than a day before this outbox was first used{since}. "
            f"A new outbox (first start, or its database lost) does not send the past again by itself; "
            f"`tagcast queue add --backfill` sends them"
        )

    @property
    def invalid(self) -> list[IngestItem]:
        return [item for item in self.items if item.post.problems]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.invalid

    def counts(self) -> dict[str, int]:
        """outcome -> number of posts."""
        return dict(Counter(item.outcome.value for item in self.items))


@dataclass(frozen=True)
class Composed:
    """The articles of some paths read and rendered: all of ingestion that does not touch the outbox."""

    posts: list[Post]
    errors: list[ArticleError]
    articles: list[Article] = field(default_factory=list)


def compose_articles(
    pipeline: Pipeline, paths: Sequence[Path] | None = None, *, now: datetime | None = None
) -> Composed:
    """Load and compose the articles in ``paths``; the service runs this away from its store thread, so a
    slow template never holds up delivery. ``now`` (default: the clock) places anniversaries."""
    articles, errors = pipeline.load(paths)
    posts = [post for article in articles for post in pipeline.compose(article, now=now)]
    return Composed(posts, list(errors), list(articles))


def ingest(
    workspace: Workspace,
    store: Store,
    paths: Sequence[Path] | None = None,
    *,
    now: datetime,
    repost: bool = False,
    backfill: bool = False,
    pipeline: Pipeline | None = None,
    prepared: Composed | None = None,
) -> IngestReport:
    """Load, compose and (where a new delivery is needed) plan the articles in ``paths`` (default: the
    workspace's posts folder), then upsert every valid post of an enabled channel into ``store``.
    ``backfill`` also queues what a new outbox holds back. ``prepared``: what :func:`compose_articles` made
    of the same paths, so that only the outbox work is left."""
    now = utc(now)
    pipeline = pipeline or Pipeline(workspace)
    prepared = prepared or compose_articles(pipeline, paths, now=now)
    composed, errors = prepared.posts, prepared.errors
    holds = _Holders(pipeline, workspace.root, prepared.articles, errors)
    epoch = store.epoch(now)
    cutoff = None if backfill else epoch - HOLD_BACK

    queued = [post for post in composed if post.valid and post.active]
    settled: dict[int, Post] = {}

    def settler(taken: Mapping[str, list[datetime]]) -> Settle:
        planner = Planner(pipeline.schedules, taken=taken)
        settled.clear()

        def settle(post: Post, plan: UpsertPlan) -> Post | None:
            if plan.match is Match.NEW and _before(post.article, cutoff):
                return None  # held back: a new outbox does not send the past by itself
            planned = place(planner, post, now) if plan.needs_slot else post
            settled[id(post)] = planned
            return planned

        return settle

    results = store.upsert_each(queued, settler, now=now, repost=repost, files=holds, since=now - RECENT_SENT)
    outcomes = {id(post): result for post, result in zip(queued, results, strict=True)}
    report = IngestReport(errors=list(errors), epoch=epoch)
    for post in composed:
        if id(post) not in outcomes:
            report.items.append(_unqueued(store, post))
        elif (result := outcomes[id(post)]) is None:
            report.items.append(IngestItem(post, UpsertOutcome.HELD_BACK, detail=_held_detail(post)))
        else:
            report.items.append(_item(store, settled.get(id(post), post), result))
    if not paths:
        report.orphans = find_orphans(store, composed=composed, errors=errors)
    return report


def _before(article: Article, cutoff: datetime | None) -> bool:
    return cutoff is not None and article.publish_at is not None and article.publish_at < cutoff


def _held_detail(post: Post) -> str:
    assert post.article.publish_at is not None
    return (
        f"publish_at {post.article.publish_at.isoformat()} is more than a day before this outbox was first "
        f"used: not sent by itself (`tagcast queue add --backfill {post.source}` sends it)"
    )


class _Holders:
    """The article files as the store asks about them (:class:`~scheduler.store.ingest_ops.ArticleFiles`),
    answered from the articles of this run, else by reading the file (a partial ingest did not load it)."""

    def __init__(
        self, pipeline: Pipeline, root: Path, articles: Sequence[Article], errors: Sequence[ArticleError]
    ) -> None:
        self.pipeline = pipeline
        self.root = root
        self.identities: dict[str, str] = {}
        self.sources: dict[str, set[str]] = {}
        self._add(articles)
        self.loaded = {article.source.split("#", 1)[0] for article in articles}
        self.broken = {error.source for error in errors}

    def _add(self, articles: Sequence[Article]) -> None:
        for article in articles:
            identity = article_identity(article)
            self.identities[article.source] = identity
            self.sources.setdefault(identity, set()).add(article.source)

    def holds(self, source: str, identity: str) -> bool:
        file = source.split("#", 1)[0]
        if source not in self.identities and file not in self.loaded and file not in self.broken:
            self.loaded.add(file)
            path = self.root / file
            if path.is_file():
                articles, errors = self.pipeline.load([path])
                self._add(articles)
                self.broken.update(error.source for error in errors)
        return file in self.broken or self.identities.get(source) == identity

    def held_elsewhere(self, identity: str, source: str) -> bool:
        return bool(self.sources.get(identity, set()) - {source})


def _unqueued(store: Store, post: Post) -> IngestItem:
    """The report of a post that is not queued: of a disabled channel, or with problems."""
    if not post.active:
        return IngestItem(
            post, UpsertOutcome.SKIPPED, detail="channel disabled (enabled = false): not queued"
        )
    detail = "; ".join(post.problems)
    queued = store.find(post.source, post.channel)
    if queued is not None and queued.state in (DeliveryState.PLANNED, DeliveryState.RETRYING):
        detail += f" (delivery {queued.id} stays queued with its previous text)"
    return IngestItem(post, UpsertOutcome.SKIPPED, queued, detail)


def _item(store: Store, post: Post, result: UpsertResult) -> IngestItem:
    """The report of a post the store decided about; one that could not be planned is reported like one
    with problems from the start."""
    if post.problems:
        return _unqueued(store, post)
    return IngestItem(post, result.outcome, result.delivery, _detail(post, result))


def _detail(post: Post, result: UpsertResult) -> str:
    outcome, delivery = result.outcome, result.delivery
    text = _outcome_detail(outcome, delivery)
    if result.copy_of is not None and delivery is not None:
        identity = describe(article_identity(post.article))
        if outcome is UpsertOutcome.DUPLICATE:
            return (
                f"a copy of {result.copy_of} ({identity}), queued as {delivery.id}: not posted twice; "
                f"give it its own `id:` if it is another article, or post it again on purpose with "
                f"`tagcast queue add --repost {post.source}`"
            )
        return f"a copy of {result.copy_of} ({identity}): queued as a post of its own, as asked (--repost)"
    if result.moved_from is not None and delivery is not None:
        moved = f"renamed from {result.moved_from}: delivery {delivery.id} follows the file"
        return f"{moved}; {text}" if text else moved
    return text


def _outcome_detail(outcome: UpsertOutcome, delivery: Delivery | None) -> str:
    if outcome is UpsertOutcome.IN_FLIGHT and delivery is not None:
        return (
            f"the text changed, but delivery {delivery.id} is {delivery.state.value}: left as it was "
            f"(cancel it and add again to send the new text)"
        )
    if outcome is UpsertOutcome.ALREADY_SENT and delivery is not None:
        return f"already sent as {delivery.id}; use --repost to send the edited text as a new post"
    if outcome is UpsertOutcome.SKIPPED:
        return "no free slot"
    return ""


def find_orphans(store: Store, *, composed: Sequence[Post], errors: Sequence[ArticleError]) -> list[Orphan]:
    """Planned or retrying deliveries whose article no loaded file holds on that channel (articles that failed
    to load excepted: their deliveries are not touched and not reported as gone)."""
    routed = {(article_identity(post.article), post.channel) for post in composed}
    unqueued = {(post.source, post.channel) for post in composed if post.problems or not post.active}
    loaded = {post.source: article_identity(post.article) for post in composed}
    broken = {error.source for error in errors}
    orphans: list[Orphan] = []
    offset = 0
    while True:
        page = store.list(states=[DeliveryState.PLANNED, DeliveryState.RETRYING], limit=_PAGE, offset=offset)
        for delivery in page:
            if (
                (delivery.identity, delivery.channel) in routed
                or (delivery.source, delivery.channel) in unqueued
                or delivery.source.split("#", 1)[0] in broken
            ):
                continue
            if delivery.source.startswith(FEED_SOURCES):  # a [sources.NAME] entry, not a file of posts/
                continue
            if loaded.get(delivery.source) == delivery.identity:
                reason = f"{delivery.source} no longer routes to channel {delivery.channel}; still queued"
            elif delivery.source in loaded:
                reason = f"{delivery.source} now holds another article; the one queued is gone; still queued"
            else:
                reason = f"{delivery.source} is gone from the posts folder; still queued"
            orphans.append(Orphan(delivery, reason + f" (cancel with `tagcast queue cancel {delivery.id}`)"))
        if len(page) < _PAGE:
            return orphans
        offset += _PAGE
