"""What the dispatcher needs: find the next due time, claim due deliveries, record what the network said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, func, select

from scheduler.store.base import StoreBase
from scheduler.store.dialect import lock_channel, select_for_claim
from scheduler.store.errors import DeliveryConflict
from scheduler.store.models import Delivery, DeliveryState, utc
from scheduler.store.rows import delivery_from_row
from scheduler.store.schema import channel_pauses, deliveries

_SENDING = (DeliveryState.SENDING,)


class Receipt(Protocol):
    """What :meth:`DispatchMixin.mark_sent` reads from :class:`scheduler.adapters.base.Receipt` (the store is
    an earlier stage than delivery, so it does not import the adapters)."""

    @property
    def remote_ids(self) -> tuple[str, ...]: ...

    @property
    def url(self) -> str | None: ...

    @property
    def extra(self) -> dict[str, Any]: ...


def active_pauses(connection: Connection, now: datetime) -> dict[str, datetime | None]:
    """Channels paused at ``now``: channel -> until (None: until resumed)."""
    rows = connection.execute(
        select(channel_pauses.c.channel, channel_pauses.c.until).where(
            channel_pauses.c.until.is_(None) | (channel_pauses.c.until > now)
        )
    ).all()
    return dict(rows)


def busy_channels(connection: Connection) -> set[str]:
    """Channels with a delivery in ``sending``: they get nothing else until it is settled."""
    rows = connection.execute(
        select(deliveries.c.channel).where(deliveries.c.state == DeliveryState.SENDING.value).distinct()
    ).scalars()
    return set(rows)


class DispatchMixin(StoreBase):
    """Claims and outcomes. Every method is one transaction; every state change records its reason."""

    def next_due(self, now: datetime | None = None) -> datetime | None:
        """The earliest time a claim can succeed: the first due planned or retrying delivery of a channel that
        is neither paused nor busy sending (a channel paused ``until`` counts from then). None: nothing to do.

        A busy channel is left out, so that a long send cannot make the dispatcher spin; call again after
        each ``mark_*``.
        """
        with self._read() as connection:
            pauses = active_pauses(connection, utc(now) if now is not None else datetime.now(UTC))
            busy = busy_channels(connection)
            blocked = busy | set(pauses)
            first = connection.execute(
                select(deliveries.c.due_at)
                .where(deliveries.c.due_at.is_not(None), deliveries.c.channel.not_in(blocked))
                .order_by(deliveries.c.due_at)
                .limit(1)
            ).scalar()
            candidates = [first] if first is not None else []
            for channel, until in pauses.items():
                if until is None or channel in busy:
                    continue
                due = self._first_due(connection, channel)
                if due is not None:
                    candidates.append(max(due, until))
        return min(candidates, default=None)

    @staticmethod
    def _first_due(connection: Connection, channel: str) -> datetime | None:
        return connection.execute(
            select(func.min(deliveries.c.due_at)).where(
                deliveries.c.channel == channel, deliveries.c.due_at.is_not(None)
            )
        ).scalar()

    def claim_due(self, now: datetime, *, worker: str, lease: timedelta, limit: int) -> list[Delivery]:
        """Atomically move due planned/retrying deliveries to ``sending`` (attempts + 1, claimed by
        ``worker``, leased until ``now + lease``), at most one per channel and at most ``limit`` in all.

        In each channel the due delivery with the earliest slot goes first; a paused channel and a channel
        that already has a delivery in ``sending`` get nothing. The whole claim is one write transaction
        (``BEGIN IMMEDIATE`` on SQLite, row and channel locks on PostgreSQL), so no two processes can claim
        the same delivery.
        """
        now = utc(now)
        if limit < 1:
            return []
        claimed: list[str] = []
        with self._write() as connection:
            paused = set(active_pauses(connection, now))
            sending = select(deliveries.c.channel).where(deliveries.c.state == DeliveryState.SENDING.value)
            channels = connection.execute(
                select(deliveries.c.channel, func.min(deliveries.c.scheduled_at).label("first"))
                .where(
                    deliveries.c.due_at <= now,
                    deliveries.c.channel.not_in(paused),
                    deliveries.c.channel.not_in(sending),  # busy: skipped here, and checked again under lock
                )
                .group_by(deliveries.c.channel)
                .order_by("first", deliveries.c.channel)
            ).all()
            for channel, _first in channels:
                if len(claimed) >= limit:
                    break
                row_id = self._claim_one(connection, channel, now=now, worker=worker, lease=lease)
                if row_id is not None:
                    claimed.append(row_id)
            return [delivery_from_row(self._row(connection, row_id)) for row_id in claimed]

    def _claim_one(
        self, connection: Connection, channel: str, *, now: datetime, worker: str, lease: timedelta
    ) -> str | None:
        if not lock_channel(connection, channel):
            return None
        sending = connection.execute(
            select(deliveries.c.id)
            .where(deliveries.c.channel == channel, deliveries.c.state == DeliveryState.SENDING.value)
            .limit(1)
        ).first()
        if sending is not None:
            return None
        head = connection.execute(
            select(deliveries.c.id)
            .where(deliveries.c.channel == channel, deliveries.c.due_at <= now)
            .order_by(deliveries.c.scheduled_at, deliveries.c.id)
            .limit(1)
        ).scalar()
        if head is None:
            return None
        # Lock the head of the channel's queue, not merely the first unlocked row: when another transaction
        # holds the head (an operator's edit, an ingest), the channel waits a round instead of jumping ahead.
        query = select(deliveries).where(deliveries.c.id == head, deliveries.c.due_at <= now)
        row = connection.execute(select_for_claim(query, connection)).mappings().first()
        if row is None:
            return None
        attempt = row["attempts"] + 1
        self._move(
            connection,
            row,
            DeliveryState.SENDING,
            reason=f"claimed by {worker} (attempt {attempt})",
            now=now,
            attempts=attempt,
            claimed_by=worker,
            lease_until=now + lease,
        )
        return str(row["id"])

    def save_journal(self, delivery_id: str, journal: dict[str, Any]) -> None:
        """Store the adapter's journal; committed (and on disk) when this returns, before the network call."""
        with self._write() as connection:
            self._row(connection, delivery_id)
            connection.execute(
                deliveries.update().where(deliveries.c.id == delivery_id).values(journal=dict(journal))
            )

    def renew_lease(self, delivery_id: str, *, worker: str, lease_until: datetime) -> None:
        """Extend the claim of ``worker``; DeliveryConflict when the claim is no longer its own."""
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            updated = connection.execute(
                deliveries.update()
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.claimed_by == worker,
                )
                .values(lease_until=utc(lease_until))
            )
            if updated.rowcount != 1:
                raise DeliveryConflict(
                    f"{worker} no longer holds delivery {delivery_id}: it is {row['state']}, "
                    f"claimed by {row['claimed_by'] or 'nobody'}",
                    hint="stop working on it; its new owner (or the operator) decides",
                )

    def mark_sent(self, delivery_id: str, receipt: Receipt, *, now: datetime) -> None:
        """Record the receipt, in any state but ``sent``: when the network has the post, it is sent."""
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            if row["state"] == DeliveryState.SENT.value:
                raise DeliveryConflict(
                    f"delivery {delivery_id} is already sent ({row['remote_url'] or row['remote_ids']})",
                    hint="a second receipt means the post went out twice: check the account",
                )
            where = receipt.url or ", ".join(receipt.remote_ids) or "no remote id"
            self._move(
                connection,
                row,
                DeliveryState.SENT,
                reason=f"sent: {where}",
                now=now,
                remote_ids=list(receipt.remote_ids),
                remote_url=receipt.url,
                receipt=dict(receipt.extra),
                claimed_by=None,
                lease_until=None,
                next_attempt_at=None,
            )

    def mark_retry(self, delivery_id: str, *, at: datetime, reason: str, now: datetime) -> None:
        """``sending`` -> ``retrying``: claimable again at ``at`` (with the same idempotency key)."""
        self._settle(
            delivery_id,
            DeliveryState.RETRYING,
            reason=f"retry at {utc(at).isoformat()}: {reason}",
            error=reason,
            now=now,
            next_attempt_at=utc(at),
        )

    def mark_failed(self, delivery_id: str, *, reason: str, now: datetime) -> None:
        """``sending`` -> ``failed``: permanent; only ``tagcast queue retry`` brings it back."""
        self._settle(delivery_id, DeliveryState.FAILED, reason=f"failed: {reason}", error=reason, now=now)

    def mark_unknown(self, delivery_id: str, *, reason: str, now: datetime) -> None:
        """``sending`` -> ``unknown``: maybe posted; never resent until ``tagcast queue resolve``."""
        self._settle(
            delivery_id, DeliveryState.UNKNOWN, reason=f"outcome unknown: {reason}", error=reason, now=now
        )

    def _settle(
        self, delivery_id: str, state: DeliveryState, *, reason: str, error: str, now: datetime, **values: Any
    ) -> None:
        with self._write() as connection:
            row = self._row(connection, delivery_id)
            self._require(row, _SENDING, f"mark as {state.value}", "only a claimed delivery can be settled")
            self._move(
                connection,
                row,
                state,
                reason=reason,
                now=now,
                last_error=error,
                claimed_by=None,
                lease_until=None,
                **values,
            )

    def stale_sending(self, now: datetime) -> list[Delivery]:
        """``sending`` deliveries whose lease ran out before ``now``: a worker died while sending them."""
        with self._read() as connection:
            rows = connection.execute(
                select(deliveries)
                .where(
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.lease_until.is_(None) | (deliveries.c.lease_until < utc(now)),
                )
                .order_by(deliveries.c.scheduled_at, deliveries.c.id)
            ).mappings()
            return [delivery_from_row(row) for row in rows]

    def claim_stale(self, now: datetime, *, worker: str, lease: timedelta, limit: int = 10) -> list[Delivery]:
        """Take over ``sending`` deliveries with an expired lease (to reconcile them), atomically, so that
        only one worker reconciles each. Attempts are not counted again."""
        now = utc(now)
        taken: list[str] = []
        with self._write() as connection:
            query = (
                select(deliveries)
                .where(
                    deliveries.c.state == DeliveryState.SENDING.value,
                    deliveries.c.lease_until.is_(None) | (deliveries.c.lease_until < now),
                )
                .order_by(deliveries.c.scheduled_at, deliveries.c.id)
                .limit(limit)
            )
            for row in connection.execute(select_for_claim(query, connection)).mappings().all():
                expired = row["lease_until"].isoformat() if row["lease_until"] else "never set"
                self._move(
                    connection,
                    row,
                    DeliveryState.SENDING,
                    reason=f"lease of {row['claimed_by'] or 'unknown worker'} expired ({expired}): "
                    f"taken over by {worker} to reconcile",
                    now=now,
                    claimed_by=worker,
                    lease_until=now + lease,
                )
                taken.append(row["id"])
            return [delivery_from_row(self._row(connection, row_id)) for row_id in taken]
