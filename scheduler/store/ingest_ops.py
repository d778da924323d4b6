"""Putting posts into the outbox: insert, update in place, or leave alone, by the rules of :func:`decide`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, RowMapping, func, select
from sqlalchemy.exc import IntegrityError

from scheduler.identity import article_identity
from scheduler.models import Post
from scheduler.store.base import StoreBase
from scheduler.store.models import (
    LIVE,
    Delivery,
    DeliveryState,
    UpsertOutcome,
    article_to_json,
    content_hash,
    utc,
)
from scheduler.store.moves import due_at_for
from scheduler.store.rows import (
    delivery_from_row,
    new_delivery_id,
    new_idempotency_key,
    post_content,
    zone_of,
)
from scheduler.store.schema import deliveries, store_meta

RECENT_SENT = timedelta(days=2)
"""How far back sent posts still count as taken slots (for ``min_gap`` and ``daily_cap``) by default."""

EPOCH = "epoch"
"""The ``store_meta`` key of :meth:`IngestMixin.epoch`."""


def decide(
    state: DeliveryState | None,
    old_hash: str | None,
    new_hash: str,
    *,
    repost: bool,
    retimed: bool = False,
) -> UpsertOutcome:
    """What an upsert does, given the newest delivery of the same article and channel (None: there is none).

    - same text: ``unchanged`` in every state (a cancelled post is not brought back, a sent one not resent),
      except a planned delivery whose article's ``publish_at`` changed (``retimed``): ``updated``, moved;
    - a planned delivery: ``updated`` in place (same slot, id and idempotency key);
    - sending, retrying or unknown: ``in-flight``, left alone, because its key may already be at the network
      with the old text;
    - sent: ``already-sent``, or with ``repost`` a new delivery with a new key (``reposted``); with
      ``repost``, the same text for a new ``publish_at`` (next year's anniversary) is reposted too;
    - cancelled or failed: ``added``, a new delivery with a new key.
    """
    if state is None:
        return UpsertOutcome.ADDED
    if old_hash == new_hash and not (retimed and state is DeliveryState.PLANNED):
        if repost and retimed and state is DeliveryState.SENT:
            return UpsertOutcome.REPOSTED
        return UpsertOutcome.UNCHANGED
    if state is DeliveryState.PLANNED:
        return UpsertOutcome.UPDATED
    if state in (DeliveryState.SENDING, DeliveryState.RETRYING, DeliveryState.UNKNOWN):
        return UpsertOutcome.IN_FLIGHT
    if state is DeliveryState.SENT:
        return UpsertOutcome.REPOSTED if repost else UpsertOutcome.ALREADY_SENT
    return UpsertOutcome.ADDED


def publish_at_changed(
    stored_article: dict[str, Any] | None, post: Post, now: datetime | None = None
) -> bool:
    """Whether the article's ``publish_at`` differs from the one stored with its delivery. Two times that are
    both past at ``now`` both mean "now" (``publish_at: now`` is read anew each time): not a change."""
    if stored_article is None:
        return False
    stored = stored_article.get("publish_at")
    new = article_to_json(post.article)["publish_at"]
    if stored == new:
        return False
    if now is not None and isinstance(stored, str) and post.article.publish_at is not None:
        try:
            both_past = datetime.fromisoformat(stored) <= now and post.article.publish_at <= now
        except (ValueError, TypeError):
            both_past = False
        return not both_past
    return True


def needs_slot(outcome: UpsertOutcome) -> bool:
    """Whether the post must be planned into a new slot before the upsert (it becomes a new delivery)."""
    return outcome in (UpsertOutcome.ADDED, UpsertOutcome.REPOSTED)


class ArticleFiles(Protocol):
    """What the store asks about the article files to tell an edit, a rename and a copy apart."""

    def holds(self, source: str, identity: str) -> bool:
        """Whether the file ``source`` still holds an article with ``identity`` (one that cannot be read:
        True, so that its delivery is neither moved nor doubled)."""
        ...

    def held_elsewhere(self, identity: str, source: str) -> bool:
        """Whether a file other than ``source`` holds an article with ``identity`` (among those read)."""
        ...


class Match(StrEnum):
    """How a post was matched to the deliveries already in the outbox (:meth:`IngestMixin.plan_upsert`)."""

    NEW = "new"
    """No delivery of this file or of this article on the channel."""
    SAME_FILE = "same-file"
    """A delivery of this very file (its text may have been edited)."""
    RENAMED = "renamed"
    """A delivery of the same article under a file that no longer holds it: the file was renamed."""
    COPY = "copy"
    """A delivery of the same article under another file that still holds it: this file is a copy."""


@dataclass(frozen=True)
class UpsertResult:
    """The outcome and the delivery it concerns (None when skipped). ``moved_from``: the file the delivery
    named before a rename; ``copy_of``: the file that holds the delivery this post is a copy of."""

    outcome: UpsertOutcome
    delivery: Delivery | None
    moved_from: str | None = None
    copy_of: str | None = None


@dataclass(frozen=True)
class UpsertPlan:
    """What an upsert would do (read only): the outcome, the delivery it matched and how, and whether a
    planned delivery moves to a new ``publish_at``."""

    outcome: UpsertOutcome
    existing: Delivery | None
    match: Match
    retimed: bool = False

    @property
    def needs_slot(self) -> bool:
        return needs_slot(self.outcome) or (self.retimed and self.outcome is UpsertOutcome.UPDATED)


Settle = Callable[[Post, UpsertPlan], Post | None]
"""What ingestion makes of one post once the store has decided (:meth:`IngestMixin.upsert_each`): the post to
write (planned when the plan needs a slot) or None to leave it out."""

Settler = Callable[[Mapping[str, list[datetime]]], Settle]
"""Makes the :data:`Settle` of one attempt from the slots each channel held when its transaction began."""


@dataclass(frozen=True)
class _Found:
    row: RowMapping | None
    match: Match
    outcome: UpsertOutcome
    retimed: bool


def _newest_where(connection: Connection, where: ColumnElement[bool], channel: str) -> RowMapping | None:
    return (
        connection.execute(
            select(deliveries)
            .where(where, deliveries.c.channel == channel)
            .order_by(deliveries.c.created_at.desc(), deliveries.c.generation.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )


class IngestMixin(StoreBase):
    """``upsert``, ``find``, ``taken_slots`` and the outbox's ``epoch``: what ingestion needs.

    A post is matched to the outbox first by its file (``source``: an edit in place), then by its article's
    identity (:mod:`scheduler.identity`): a file renamed keeps its delivery, and a copy under another name is
    a ``duplicate``, not a second post.
    """

    @staticmethod
    def _newest(connection: Connection, source: str, channel: str) -> RowMapping | None:
        return _newest_where(connection, deliveries.c.source == source, channel)

    def find(self, source: str, channel: str) -> Delivery | None:
        """The newest delivery of the article ``source`` on ``channel``."""
        with self._read() as connection:
            row = self._newest(connection, source, channel)
        return delivery_from_row(row) if row is not None else None

    def find_identity(self, identity: str, channel: str) -> Delivery | None:
        """The newest delivery of the article with ``identity`` on ``channel``, whatever its file."""
        with self._read() as connection:
            row = _newest_where(connection, deliveries.c.identity == identity, channel)
        return delivery_from_row(row) if row is not None else None

    def epoch(self, now: datetime) -> datetime:
        """When this outbox first took in articles: read, or (the first time) set to ``now``. An outbox from
        before schema version 3 has the time of its first delivery."""
        query = select(store_meta.c.value).where(store_meta.c.key == EPOCH)
        with self._read() as connection:
            value = connection.execute(query).scalar_one_or_none()
        if value is None:
            try:
                with self._write() as connection:
                    value = connection.execute(query).scalar_one_or_none()
                    if value is None:
                        value = utc(now).isoformat()
                        connection.execute(store_meta.insert().values(key=EPOCH, value=value))
            except IntegrityError:  # another process set it first: theirs counts
                with self._read() as connection:
                    value = connection.execute(query).scalar_one()
        return utc(datetime.fromisoformat(value))

    def taken_slots(self, channel: str, *, since: datetime | None = None) -> list[datetime]:
        """Slots of ``channel`` that new posts must keep clear of: every planned, retrying, sending or unknown
        delivery, and those sent at or after ``since`` (default: the last two days)."""
        with self._read() as connection:
            return self._taken(connection, channel, since=since)

    @staticmethod
    def _taken(connection: Connection, channel: str, *, since: datetime | None) -> list[datetime]:
        since = utc(since) if since is not None else datetime.now(UTC) - RECENT_SENT
        live = deliveries.c.state.in_([state.value for state in LIVE])
        recent = (deliveries.c.state == DeliveryState.SENT.value) & (deliveries.c.scheduled_at >= since)
        rows = connection.execute(
            select(deliveries.c.scheduled_at)
            .where(deliveries.c.channel == channel, live | recent)
            .order_by(deliveries.c.scheduled_at)
        ).scalars()
        return list(rows)

    @staticmethod
    def _match(
        connection: Connection, post: Post, identity: str, files: ArticleFiles | None
    ) -> tuple[RowMapping | None, Match]:
        """The delivery ``post`` continues, and how: this file's delivery of this article; else another
        file's delivery of it (a copy, or a rename when that file no longer holds it); else this file's
        delivery of what it held before (an edit that changed the identity), unless another file now holds
        that; else none."""
        same = deliveries.c.identity == identity
        here = deliveries.c.source == post.source
        row = _newest_where(connection, same & here, post.channel)
        if row is not None:
            return row, Match.SAME_FILE
        row = _newest_where(connection, same, post.channel)
        if row is not None:
            holds = files is None or files.holds(row["source"], identity)
            return row, Match.COPY if holds else Match.RENAMED
        row = _newest_where(connection, here, post.channel)
        if row is not None and not (files is not None and files.held_elsewhere(row["identity"], post.source)):
            return row, Match.SAME_FILE
        return None, Match.NEW

    @classmethod
    def _find(
        cls,
        connection: Connection,
        post: Post,
        *,
        now: datetime,
        repost: bool,
        files: ArticleFiles | None,
    ) -> _Found:
        row, match = cls._match(connection, post, article_identity(post.article), files)
        if match is Match.NEW:
            row = None
        if match is Match.COPY:
            outcome = UpsertOutcome.REPOSTED if repost else UpsertOutcome.DUPLICATE
            return _Found(row, match, outcome, retimed=False)
        retimed = publish_at_changed(row["article"] if row else None, post, now)
        outcome = decide(
            DeliveryState(row["state"]) if row is not None else None,
            row["content_hash"] if row is not None else None,
            content_hash(post.parts),
            repost=repost,
            retimed=retimed,
        )
        if match is Match.RENAMED and outcome is UpsertOutcome.UNCHANGED:
            outcome = UpsertOutcome.RENAMED
        return _Found(row, match, outcome, retimed)

    def upsert_each(
        self,
        posts: Sequence[Post],
        settler: Settler,
        *,
        now: datetime,
        repost: bool = False,
        files: ArticleFiles | None = None,
        since: datetime | None = None,
    ) -> list[UpsertResult | None]:
        """Upsert ``posts`` in order, in ONE transaction, deciding for each once, inside it.

        ``settler(taken)`` makes the settle function of the attempt (a second one follows when another
        process inserted the same article meanwhile), ``taken`` being every slot each channel of ``posts``
        held when the transaction began (:meth:`taken_slots` with ``since``). For each post the store
        decides what an upsert does (:class:`UpsertPlan`, seeing the posts before it written), then
        ``settle(post, plan)`` returns the post to write (planned by it, when the plan needs a slot) or None
        to leave it out (its result is None). A post it returns with problems, or without a time when it
        needs one, is ``skipped``.
        """
        now = utc(now)
        try:
            return self._upsert_each(posts, settler, now=now, repost=repost, files=files, since=since)
        except IntegrityError:  # another process inserted the same article at the same time: look again
            return self._upsert_each(posts, settler, now=now, repost=repost, files=files, since=since)

    def _upsert_each(
        self,
        posts: Sequence[Post],
        settler: Settler,
        *,
        now: datetime,
        repost: bool,
        files: ArticleFiles | None,
        since: datetime | None,
    ) -> list[UpsertResult | None]:
        results: list[UpsertResult | None] = []
        with self._write() as connection:
            held = {
                channel: self._taken(connection, channel, since=since)
                for channel in sorted({post.channel for post in posts})
            }
            settle = settler(held)
            for post in posts:
                found = self._find(connection, post, now=now, repost=repost, files=files)
                existing = delivery_from_row(found.row) if found.row is not None else None
                plan = UpsertPlan(found.outcome, existing, found.match, found.retimed)
                settled = settle(post, plan)
                if settled is None:
                    results.append(None)
                elif not settled.active or settled.problems or not settled.parts:
                    results.append(UpsertResult(UpsertOutcome.SKIPPED, None))
                else:
                    results.append(self._write_decided(connection, settled, found, now=now))
        return results

    def upsert(self, post: Post, *, now: datetime, repost: bool = False) -> UpsertOutcome:
        """Queue ``post`` (valid, active, planned) or bring its delivery up to date; see :func:`decide`."""
        return self.upsert_result(post, now=now, repost=repost).outcome

    def upsert_result(
        self, post: Post, *, now: datetime, repost: bool = False, files: ArticleFiles | None = None
    ) -> UpsertResult:
        """Like :meth:`upsert`, and also the delivery that was added, updated or left alone.

        ``files`` tells a renamed file from a copy (:class:`ArticleFiles`); without it, another file's
        delivery of the same article always makes this post a copy (never a silent move, never a second post).
        """
        if not post.active or post.problems or not post.parts:
            return UpsertResult(UpsertOutcome.SKIPPED, None)
        try:
            return self._upsert(post, now=utc(now), repost=repost, files=files)
        except IntegrityError:  # another process inserted the same article at the same time: look again
            return self._upsert(post, now=utc(now), repost=repost, files=files)

    def _upsert(self, post: Post, *, now: datetime, repost: bool, files: ArticleFiles | None) -> UpsertResult:
        with self._write() as connection:
            found = self._find(connection, post, now=now, repost=repost, files=files)
            return self._write_decided(connection, post, found, now=now)

    def _write_decided(
        self, connection: Connection, post: Post, found: _Found, *, now: datetime
    ) -> UpsertResult:
        """Write what was decided (``found``) for ``post``, in the transaction that decided it."""
        identity = article_identity(post.article)
        row, outcome, retimed = found.row, found.outcome, found.retimed
        moved_from = row["source"] if row is not None and found.match is Match.RENAMED else None
        if outcome is UpsertOutcome.DUPLICATE:
            assert row is not None
            return UpsertResult(outcome, delivery_from_row(row), copy_of=row["source"])
        if needs_slot(outcome):
            if post.scheduled_at is None:
                return UpsertResult(UpsertOutcome.SKIPPED, None)
            generation = self._next_generation(connection, identity, post.channel)
            copy = found.match is Match.COPY
            delivery_id = self._insert(
                connection, post, generation=generation, now=now, replaces=row, copy=copy
            )
            copy_of = row["source"] if row is not None and copy else None
            return UpsertResult(
                outcome, delivery_from_row(self._row(connection, delivery_id)), moved_from, copy_of
            )
        assert row is not None
        delivery_id = row["id"]
        if outcome is UpsertOutcome.UPDATED:
            values = post_content(post)
            reason = f"text updated: {post.source} was edited before its slot"
            if retimed and post.scheduled_at is not None:
                values.update(scheduled_at=utc(post.scheduled_at), zone=zone_of(post.scheduled_at))
                reason = f"{post.source} was edited (publish_at): moved to {post.scheduled_at.isoformat()}"
            if moved_from is not None:
                reason += f"; renamed from {moved_from}"
            values.update(source=post.source, identity=identity)
            self._move(connection, row, DeliveryState.PLANNED, reason=reason, now=now, **values)
        elif moved_from is not None and row["state"] == DeliveryState.PLANNED.value:
            reason = f"{moved_from} was renamed to {post.source}: the delivery follows it"
            self._move(connection, row, DeliveryState.PLANNED, reason=reason, now=now, source=post.source)
        elif moved_from is not None or row["identity"] != identity:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.id == delivery_id)
                .values(source=post.source, identity=identity)
            )
        if (
            outcome is not UpsertOutcome.UPDATED
            and row["state"] == DeliveryState.PLANNED.value
            and row["first_limit"] != post.first_limit
        ):  # the same text, with an image added or removed (or queued before schema version 8)
            connection.execute(
                deliveries.update().where(deliveries.c.id == delivery_id).values(first_limit=post.first_limit)
            )
        return UpsertResult(outcome, delivery_from_row(self._row(connection, delivery_id)), moved_from)

    @staticmethod
    def _next_generation(connection: Connection, identity: str, channel: str) -> int:
        newest = connection.execute(
            select(func.max(deliveries.c.generation)).where(
                deliveries.c.identity == identity, deliveries.c.channel == channel
            )
        ).scalar()
        return int(newest or 0) + 1

    def _insert(
        self,
        connection: Connection,
        post: Post,
        *,
        generation: int,
        now: datetime,
        replaces: RowMapping | None,
        copy: bool = False,
    ) -> str:
        assert post.scheduled_at is not None
        delivery_id = new_delivery_id()
        while connection.execute(select(deliveries.c.id).where(deliveries.c.id == delivery_id)).first():
            delivery_id = new_delivery_id()
        scheduled_at = utc(post.scheduled_at)
        connection.execute(
            deliveries.insert().values(
                id=delivery_id,
                source=post.source,
                channel=post.channel,
                generation=generation,
                state=DeliveryState.PLANNED.value,
                scheduled_at=scheduled_at,
                zone=zone_of(post.scheduled_at),
                due_at=due_at_for(DeliveryState.PLANNED, scheduled_at, None),
                idempotency_key=new_idempotency_key(),
                identity=article_identity(post.article),
                attempts=0,
                next_attempt_at=None,
                journal={},
                remote_ids=[],
                remote_url=None,
                receipt={},
                last_error=None,
                claimed_by=None,
                lease_until=None,
                created_at=now,
                updated_at=now,
                **post_content(post),
            )
        )
        if replaces is None:
            reason = f"queued from {post.source} by rule {post.rule}: {post.slot_note or 'planned'}"
        elif copy:
            reason = (
                f"queued again from {post.source} (a copy of {replaces['source']}, delivery "
                f"{replaces['id']}), as asked with --repost"
            )
        else:
            reason = (
                f"queued again from {post.source}: its text changed after delivery {replaces['id']} "
                f"was {replaces['state']}"
            )
        self._record(
            connection, delivery_id, at=now, from_state=None, to_state=DeliveryState.PLANNED, reason=reason
        )
        return delivery_id
