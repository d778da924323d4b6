"""Ingestion: articles in ``posts/`` -> the pipeline -> the outbox (``tagcast queue add`` and the service).

It runs the very functions preview runs (:meth:`Pipeline.load`, :meth:`Pipeline.compose`,
:func:`~scheduler.planning.plan_posts`), so what is queued is what was previewed. Only posts that become new
deliveries are planned, with every slot already held in the outbox as ``taken``: a new post takes the next
free slot after what is queued, and a queued post keeps its slot. The rules
(:func:`scheduler.store.ingest_ops.decide`):

- the same text again changes nothing; an edit before the slot updates the queued text in place, and a
  changed ``publish_at`` moves a planned delivery to the new time;
- an edit of a delivery that is sending, retrying or unknown is left alone and reported (its idempotency key
  may already be at the network with the old text);
- an edit after it was sent is reported as ``already-sent``, or with ``repost`` queued as a new delivery;
- posts with problems and posts of disabled channels are reported and not queued; an article that cannot be
  read is reported and nothing queued for it is touched;
- a queued delivery whose article left ``posts/`` (or no longer routes to its channel) stays queued and is
  reported: nothing queued is ever lost by editing files.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scheduler.articles.feed import FEED_SOURCES
from scheduler.config.loader import Workspace
from scheduler.errors import ArticleError
from scheduler.models import Post
from scheduler.pipeline import Pipeline
from scheduler.planning import plan_posts
from scheduler.store import Delivery, DeliveryState, Store, UpsertOutcome
from scheduler.store.ingest_ops import RECENT_SENT, decide, needs_slot, publish_at_changed
from scheduler.store.models import content_hash, utc

_PAGE = 500


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

    posts: list[tuple[Post, str]]
    errors: list[ArticleError]


def compose_articles(pipeline: Pipeline, paths: Sequence[Path] | None = None) -> Composed:
    """Load and compose the articles in ``paths``; the service runs this away from its store thread, so a
    slow template never holds up delivery."""
    articles, errors = pipeline.load(paths)
    return Composed([pair for article in articles for pair in pipeline.compose(article)], list(errors))


def ingest(
    workspace: Workspace,
    store: Store,
    paths: Sequence[Path] | None = None,
    *,
    now: datetime,
    repost: bool = False,
    pipeline: Pipeline | None = None,
    prepared: Composed | None = None,
) -> IngestReport:
    """Load, compose and (where a new delivery is needed) plan the articles in ``paths`` (default: the
    workspace's posts folder), then upsert every valid post of an enabled channel into ``store``.
    ``prepared``: what :func:`compose_articles` made of the same paths, so that only the outbox work is
    left."""
    now = utc(now)
    pipeline = pipeline or Pipeline(workspace)
    prepared = prepared or compose_articles(pipeline, paths)
    composed, errors = prepared.posts, prepared.errors

    to_plan = [(post, schedule) for post, schedule in composed if _wants_new_slot(store, post, repost=repost)]
    channels = sorted({post.channel for post, _ in to_plan})
    taken = {channel: store.taken_slots(channel, since=now - RECENT_SENT) for channel in channels}
    plan_posts(to_plan, pipeline.schedules, now=now, taken=taken)

    report = IngestReport(errors=list(errors))
    for post, _ in composed:
        report.items.append(_upsert(store, post, now=now, repost=repost))
    if not paths:
        report.orphans = find_orphans(store, composed=[post for post, _ in composed], errors=errors)
    return report


def _wants_new_slot(store: Store, post: Post, *, repost: bool) -> bool:
    if post.problems or not post.active:
        return False
    existing = store.find(post.source, post.channel)
    retimed = publish_at_changed(existing.article if existing else None, post)
    outcome = decide(
        existing.state if existing else None,
        existing.content_hash if existing else None,
        content_hash(post.parts),
        repost=repost,
        retimed=retimed,
    )
    return needs_slot(outcome) or (retimed and outcome is UpsertOutcome.UPDATED)


def _upsert(store: Store, post: Post, *, now: datetime, repost: bool) -> IngestItem:
    if not post.active:
        return IngestItem(
            post, UpsertOutcome.SKIPPED, detail="channel disabled (enabled = false): not queued"
        )
    if post.problems:
        detail = "; ".join(post.problems)
        queued = store.find(post.source, post.channel)
        if queued is not None and queued.state in (DeliveryState.PLANNED, DeliveryState.RETRYING):
            detail += f" (delivery {queued.id} stays queued with its previous text)"
        return IngestItem(post, UpsertOutcome.SKIPPED, queued, detail)
    result = store.upsert_result(post, now=now, repost=repost)
    return IngestItem(post, result.outcome, result.delivery, _detail(result.outcome, result.delivery))


def _detail(outcome: UpsertOutcome, delivery: Delivery | None) -> str:
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
    """Planned or retrying deliveries that no loaded article produced (articles that failed to load excepted:
    their deliveries are not touched and not reported as gone)."""
    routed = {(post.source, post.channel) for post in composed}
    loaded = {post.source for post in composed}
    broken = {error.source for error in errors}
    orphans: list[Orphan] = []
    offset = 0
    while True:
        page = store.list(states=[DeliveryState.PLANNED, DeliveryState.RETRYING], limit=_PAGE, offset=offset)
        for delivery in page:
            if (delivery.source, delivery.channel) in routed or delivery.source.split("#", 1)[0] in broken:
                continue
            if delivery.source.startswith(FEED_SOURCES):  # a [sources.NAME] entry, not a file of posts/
                continue
            if delivery.source in loaded:
                reason = f"{delivery.source} no longer routes to channel {delivery.channel}; still queued"
            else:
                reason = f"{delivery.source} is gone from the posts folder; still queued"
            orphans.append(Orphan(delivery, reason + f" (cancel with `tagcast queue cancel {delivery.id}`)"))
        if len(page) < _PAGE:
            return orphans
        offset += _PAGE
