"""Putting posts into the outbox: insert, update in place, or leave alone, by the rules of :func:`decide`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, select
from sqlalchemy.exc import IntegrityError

from scheduler.models import Post
from scheduler.store.base import StoreBase, due_at_for
from scheduler.store.models import (
    LIVE,
    Delivery,
    DeliveryState,
    UpsertOutcome,
    article_to_json,
    content_hash,
    utc,
)
from scheduler.store.rows import (
    delivery_from_row,
    new_delivery_id,
    new_idempotency_key,
    post_content,
    zone_of,
)
from scheduler.store.schema import deliveries

RECENT_SENT = timedelta(days=2)
"""How far back sent posts still count as taken slots (for ``min_gap`` and ``daily_cap``) by default."""


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
    - sent: ``already-sent``, or with ``repost`` a new delivery with a new key (``reposted``);
    - cancelled or failed: ``added``, a new delivery with a new key.
    """
    if state is None:
        return UpsertOutcome.ADDED
    if old_hash == new_hash and not (retimed and state is DeliveryState.PLANNED):
        return UpsertOutcome.UNCHANGED
    if state is DeliveryState.PLANNED:
        return UpsertOutcome.UPDATED
    if state in (DeliveryState.SENDING, DeliveryState.RETRYING, DeliveryState.UNKNOWN):
        return UpsertOutcome.IN_FLIGHT
    if state is DeliveryState.SENT:
        return UpsertOutcome.REPOSTED if repost else UpsertOutcome.ALREADY_SENT
    return UpsertOutcome.ADDED


def publish_at_changed(stored_article: dict[str, Any] | None, post: Post) -> bool:
    """Whether the article's ``publish_at`` differs from the one stored with its delivery."""
    if stored_article is None:
        return False
    return bool(stored_article.get("publish_at") != article_to_json(post.article)["publish_at"])


def needs_slot(outcome: UpsertOutcome) -> bool:
    """Whether the post must be planned into a new slot before the upsert (it becomes a new delivery)."""
    return outcome in (UpsertOutcome.ADDED, UpsertOutcome.REPOSTED)


@dataclass(frozen=True)
class UpsertResult:
    """The outcome and the delivery it concerns (None when skipped)."""

    outcome: UpsertOutcome
    delivery: Delivery | None


class IngestMixin(StoreBase):
    """``upsert``, ``find`` and ``taken_slots``: what ingestion needs."""

    @staticmethod
    def _newest(connection: Connection, source: str, channel: str) -> RowMapping | None:
        return (
            connection.execute(
                select(deliveries)
                .where(deliveries.c.source == source, deliveries.c.channel == channel)
                .order_by(deliveries.c.generation.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )

    def find(self, source: str, channel: str) -> Delivery | None:
        """The newest delivery of the article ``source`` on ``channel``."""
        with self._read() as connection:
            row = self._newest(connection, source, channel)
        return delivery_from_row(row) if row is not None else None

    def taken_slots(self, channel: str, *, since: datetime | None = None) -> list[datetime]:
        """Slots of ``channel`` that new posts must keep clear of: every planned, retrying, sending or unknown
        delivery, and those sent at or after ``since`` (default: the last two days)."""
        since = utc(since) if since is not None else datetime.now(UTC) - RECENT_SENT
        live = deliveries.c.state.in_([state.value for state in LIVE])
        recent = (deliveries.c.state == DeliveryState.SENT.value) & (deliveries.c.scheduled_at >= since)
        with self._read() as connection:
            rows = connection.execute(
                select(deliveries.c.scheduled_at)
                .where(deliveries.c.channel == channel, live | recent)
                .order_by(deliveries.c.scheduled_at)
            ).scalars()
            return list(rows)

    def upsert(self, post: Post, *, now: datetime, repost: bool = False) -> UpsertOutcome:
        """Queue ``post`` (valid, active, planned) or bring its delivery up to date; see :func:`decide`."""
        return self.upsert_result(post, now=now, repost=repost).outcome

    def upsert_result(self, post: Post, *, now: datetime, repost: bool = False) -> UpsertResult:
        """Like :meth:`upsert`, and also the delivery that was added, updated or left alone."""
        if not post.active or post.problems or not post.parts:
            return UpsertResult(UpsertOutcome.SKIPPED, None)
        try:
            return self._upsert(post, now=utc(now), repost=repost)
        except IntegrityError:  # another process inserted the same article at the same time: look again
            return self._upsert(post, now=utc(now), repost=repost)

    def _upsert(self, post: Post, *, now: datetime, repost: bool) -> UpsertResult:
        new_hash = content_hash(post.parts)
        with self._write() as connection:
            row = self._newest(connection, post.source, post.channel)
            state = DeliveryState(row["state"]) if row is not None else None
            retimed = publish_at_changed(row["article"] if row else None, post)
            outcome = decide(
                state, row["content_hash"] if row else None, new_hash, repost=repost, retimed=retimed
            )
            if needs_slot(outcome):
                if post.scheduled_at is None:
                    return UpsertResult(UpsertOutcome.SKIPPED, None)
                generation = row["generation"] + 1 if row is not None else 1
                delivery_id = self._insert(connection, post, generation=generation, now=now, replaces=row)
            elif outcome is UpsertOutcome.UPDATED:
                assert row is not None
                values = post_content(post)
                reason = f"text updated: {post.source} was edited before its slot"
                if retimed and post.scheduled_at is not None:
                    values.update(scheduled_at=utc(post.scheduled_at), zone=zone_of(post.scheduled_at))
                    reason = (
                        f"{post.source} was edited (publish_at): moved to {post.scheduled_at.isoformat()}"
                    )
                self._move(connection, row, DeliveryState.PLANNED, reason=reason, now=now, **values)
                delivery_id = row["id"]
            else:
                assert row is not None
                delivery_id = row["id"]
            return UpsertResult(outcome, delivery_from_row(self._row(connection, delivery_id)))

    def _insert(
        self,
        connection: Connection,
        post: Post,
        *,
        generation: int,
        now: datetime,
        replaces: RowMapping | None,
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
        else:
            reason = (
                f"queued again from {post.source}: its text changed after delivery {replaces['id']} "
                f"was {replaces['state']}"
            )
        self._record(
            connection, delivery_id, at=now, from_state=None, to_state=DeliveryState.PLANNED, reason=reason
        )
        return delivery_id
