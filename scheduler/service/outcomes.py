"""What the dispatcher writes to the outbox after an attempt: one store transition per outcome, one log line.

=================================  ==========================================================================
outcome of ``adapter.publish``     what happens
=================================  ==========================================================================
a Receipt                          ``sent`` (remote ids, URL); a used-up quota pauses the channel until reset
TransientDeliveryError             ``retrying`` at the policy's time (never before ``retry_after``, cut to
                                   ``backoff_max``); with a ``retry_after`` the whole channel pauses until
                                   then, others go on; past ``max_attempts``/``max_age``, or asked to wait
                                   past ``max_age``: ``failed``
AuthError                          ``failed``, and the channel pauses until resumed, saying how to fix it
PermanentDeliveryError             ``failed`` with the server's reason
UnknownOutcome                     ``unknown``: never resent automatically (``tagcast queue resolve``)
ChannelUnavailable                 ``retrying`` now, and the channel pauses until resumed, saying why
any other exception (a bug)        ``retrying`` by the policy with the error's type and message; traceback
                                   logged
=================================  ==========================================================================

Each outcome is also emitted as an event (:mod:`scheduler.service.events`) once the store has it, for metrics
and alerts, and logged as one line naming the delivery (:func:`label`) with the event's fields as ``extra``
(the JSON log format prints them as fields of their own).
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from scheduler.adapters.base import Receipt
from scheduler.adapters.http import PAUSE_KEY, bounded_seconds
from scheduler.config.durations import format_duration
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError, UnknownOutcome
from scheduler.service.channels import ChannelUnavailable, auth_fix_hint, scrub
from scheduler.service.events import (
    ChannelPaused,
    DeliveryFailed,
    DeliverySent,
    DeliveryUnknown,
    EventBus,
    FailureKind,
    PauseCause,
)
from scheduler.service.retry import RetryPolicy, later
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Delivery, DeliveryConflict, Store
from scheduler.store.dispatch_ops import where_sent

log = logging.getLogger("tagcast.service")


class DeliveryLabel(str):
    """``"<id> [<channel>] <source>"``: how every log line names a delivery. A ``str`` that keeps its parts,
    so that a structured log formatter finds them among a record's arguments
    (:mod:`scheduler.service.logs`)."""

    delivery_id: str
    channel: str
    source: str

    def __new__(cls, delivery: Delivery) -> DeliveryLabel:
        self = super().__new__(cls, f"{delivery.id} [{delivery.channel}] {delivery.source}")
        self.delivery_id, self.channel, self.source = delivery.id, delivery.channel, delivery.source
        return self


def label(delivery: Delivery) -> DeliveryLabel:
    """How every log line names a delivery: id, channel and source."""
    return DeliveryLabel(delivery)


@dataclass(frozen=True)
class Settled:
    """The state a delivery was left in after an attempt (``"sent"``, ``"retrying"``, ...) and why."""

    state: str
    reason: str


class Settler:
    """Records outcomes in the store (through ``calls``) and logs them."""

    def __init__(
        self,
        store: Store,
        calls: StoreCalls,
        *,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        rng: random.Random | None = None,
        events: EventBus | None = None,
    ) -> None:
        self.store = store
        self.calls = calls
        self.policy = policy
        self.clock = clock
        self.rng = rng or random.Random()
        self.events = events or EventBus()
        """Where outcomes are emitted; the service replaces it with its own bus."""

    async def sent(self, delivery: Delivery, receipt: Receipt) -> Settled:
        """Record ``receipt`` (:meth:`Store.mark_sent`), then log and emit it (:meth:`announce_sent`). A
        rate-limit quota the receipt says is used up pauses the channel first."""
        now = self.clock()
        pause = self.policy.server_wait(receipt.extra.get(PAUSE_KEY))
        if pause is not None:
            until = later(now, pause)
            reason = f"rate-limit quota used up by {delivery.id}: no request before {until.isoformat()}"
            await self._pause(delivery, until, reason, now, PauseCause.QUOTA)
        await self.calls(self.store.mark_sent, delivery.id, receipt, now=now)
        return self.announce_sent(delivery, receipt, now)

    def announce_sent(self, delivery: Delivery, receipt: Receipt, now: datetime) -> Settled:
        """Log and emit a receipt the store has recorded (the dispatcher records a batch's receipts together,
        :meth:`Store.mark_sent_many`, and announces each once they are committed)."""
        where = where_sent(receipt)
        event = DeliverySent.of(
            delivery,
            at=now,
            scheduled_at=delivery.scheduled_at,
            url=receipt.url,
            remote_ids=tuple(receipt.remote_ids),
        )
        log.info("%s: sent (attempt %d): %s", label(delivery), delivery.attempts, where, extra=event.fields())
        self.events.emit(event)
        return Settled("sent", where)

    async def _pause(
        self, delivery: Delivery, until: datetime | None, reason: str, now: datetime, cause: PauseCause
    ) -> None:
        """Pause the channel BEFORE the delivery leaves ``sending``: until then no other post of the channel
        can be claimed, so none slips through between the two transactions."""
        await self.calls(self.store.pause_channel, delivery.channel, until=until, reason=reason, now=now)
        event = ChannelPaused(
            at=now,
            channel=delivery.channel,
            until=until,
            reason=reason,
            cause=cause,
            delivery_id=delivery.id,
            source=delivery.source,
        )
        shown = until.isoformat() if until is not None else "it is resumed"
        log.warning(
            "%s: channel %s paused until %s: %s",
            label(delivery),
            delivery.channel,
            shown,
            reason,
            extra=event.fields(),
        )
        self.events.emit(event)

    def _failure(
        self,
        delivery: Delivery,
        kind: FailureKind,
        reason: str,
        now: datetime,
        retry_at: datetime | None = None,
    ) -> DeliveryFailed:
        return DeliveryFailed.of(
            delivery, at=now, kind=kind, reason=reason, final=retry_at is None, retry_at=retry_at
        )

    async def failed(
        self, delivery: Delivery, error: BaseException, settings: ChannelSettings | None
    ) -> Settled:
        """Record ``error`` raised by the attempt; see the module table."""
        try:
            return await self._failed(delivery, error, settings)
        except DeliveryConflict as exc:
            log.warning(
                "%s: changed while it was being sent, left to its new owner: %s", label(delivery), exc
            )
            return Settled("conflict", str(exc))

    async def _failed(
        self, delivery: Delivery, error: BaseException, settings: ChannelSettings | None
    ) -> Settled:
        now = self.clock()
        if isinstance(error, ChannelUnavailable):
            await self._pause(delivery, None, error.reason, now, PauseCause.UNAVAILABLE)
            await self.calls(self.store.mark_retry, delivery.id, at=now, reason=error.reason, now=now)
            self.events.emit(
                self._failure(delivery, FailureKind.UNAVAILABLE, error.reason, now, retry_at=now)
            )
            return Settled("retrying", error.reason)
        if isinstance(error, AuthError):
            reason = scrub(error.reason, settings)
            fix = auth_fix_hint(delivery.channel, settings.network if settings else "")
            pause = f"credentials rejected ({reason}); {fix}"
            failed = f"{reason}; after fixing the credentials run `tagcast queue retry {delivery.id}`"
            await self._pause(delivery, None, pause, now, PauseCause.AUTH)
            await self.calls(self.store.mark_failed, delivery.id, reason=failed, now=now)
            event = self._failure(delivery, FailureKind.AUTH, failed, now)
            log.error("%s: failed: %s", label(delivery), failed, extra=event.fields())
            self.events.emit(event)
            return Settled("failed", reason)
        if isinstance(error, PermanentDeliveryError):
            reason = scrub(error.reason, settings)
            await self.calls(self.store.mark_failed, delivery.id, reason=reason, now=now)
            event = self._failure(delivery, FailureKind.PERMANENT, reason, now)
            log.error("%s: failed: %s", label(delivery), reason, extra=event.fields())
            self.events.emit(event)
            return Settled("failed", reason)
        if isinstance(error, UnknownOutcome):
            reason = scrub(error.reason, settings)
            if "tagcast queue resolve" not in reason:
                reason += (
                    f"; check the account, then run `tagcast queue resolve {delivery.id} --sent URL` "
                    "or `--not-sent`"
                )
            await self.calls(self.store.mark_unknown, delivery.id, reason=reason, now=now)
            unknown = DeliveryUnknown.of(delivery, at=now, reason=reason)
            log.warning(
                "%s: outcome unknown, not resent: %s", label(delivery), reason, extra=unknown.fields()
            )
            self.events.emit(unknown)
            return Settled("unknown", reason)
        if isinstance(error, TransientDeliveryError):
            reason = scrub(error.reason, settings)
            return await self._retry(delivery, reason, error.retry_after, now, FailureKind.TRANSIENT)
        text = scrub("".join(traceback.format_exception(error)), settings)
        log.error(
            "%s: unexpected error in the %s adapter (a bug):\n%s", label(delivery), delivery.network, text
        )
        message = scrub(f"{type(error).__name__}: {error}", settings)
        reason = f"unexpected error (a bug; see the log): {message}"
        return await self._retry(delivery, reason, None, now, FailureKind.BUG)

    async def _retry(
        self, delivery: Delivery, reason: str, retry_after: float | None, now: datetime, kind: FailureKind
    ) -> Settled:
        retry_after = bounded_seconds(retry_after)
        wait = self.policy.server_wait(retry_after)
        if retry_after and wait is not None:
            until = later(now, wait)
            cut = ""
            if wait.total_seconds() < retry_after:
                cut = f", cut to service.max_age = {format_duration(self.policy.max_age)}"
            pause = (
                f"rate limited: the server asked to wait {retry_after:g} s{cut} (until {until.isoformat()})"
            )
            await self._pause(delivery, until, pause, now, PauseCause.RATE_LIMIT)
        decision = self.policy.decide(
            attempts=delivery.attempts,
            scheduled_at=delivery.scheduled_at,
            now=now,
            retry_after=retry_after,
            rng=self.rng,
        )
        full = f"{reason}; {decision.reason}"
        if decision.at is None:
            await self.calls(self.store.mark_failed, delivery.id, reason=full, now=now)
            event = self._failure(delivery, kind, full, now)
            log.error("%s: failed: %s", label(delivery), full, extra=event.fields())
            self.events.emit(event)
            return Settled("failed", full)
        await self.calls(self.store.mark_retry, delivery.id, at=decision.at, reason=full, now=now)
        event = self._failure(delivery, kind, full, now, retry_at=decision.at)
        log.warning(
            "%s: will retry at %s: %s", label(delivery), decision.at.isoformat(), full, extra=event.fields()
        )
        self.events.emit(event)
        return Settled("retrying", full)
