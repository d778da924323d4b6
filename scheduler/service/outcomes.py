"""How a delivery is settled: one store transition per outcome, one log line, one event.

Every outcome goes through :class:`Settler`: what an attempt at a post ended with
(:meth:`Settler.settle`), and what reconciling a post left in ``sending`` by a dead worker found
(:meth:`Settler.settle_reconciled`).

=================================  ==========================================================================
outcome                            what happens
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
reconciled: a Receipt              ``sent``, as above
reconciled: None (not posted)      ``retrying`` now: safe to send again with the same key
reconciled: any error              ``unknown`` (the network could not tell): never resent automatically
=================================  ==========================================================================

A preparation step that fails (an image that cannot be fetched) raises the same error types and settles the
same way. Each outcome is emitted as an event (:mod:`scheduler.service.events`) once the store has it, for
metrics and alerts, and logged as one line naming the delivery (:func:`label`) with the event's fields as
``extra`` (the JSON log format prints them as fields of their own). A delivery changed meanwhile by someone
else (``tagcast queue``, another worker) is left to them: :attr:`Outcome.CONFLICT`.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from scheduler.adapters.base import Receipt
from scheduler.adapters.http import bounded_seconds
from scheduler.config.durations import format_duration
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
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
from scheduler.store import ClaimRequest, Delivery, DeliveryConflict, DeliveryNotFound, Store
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


class Outcome(StrEnum):
    """What an attempt, or a reconcile, left a delivery as (compares equal to its string value)."""

    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    UNKNOWN = "unknown"
    SENDING = "sending"
    """Left in ``sending``: the outcome could not be recorded, or the network could not be asked yet; it is
    reconciled once its lease ends."""
    CONFLICT = "conflict"
    """Changed by someone else meanwhile (a ``tagcast queue`` command, another worker): left to them."""


@dataclass(frozen=True)
class Settled:
    """What a delivery was left as, and why; and what the commit that recorded it claimed next (see
    :meth:`Settler.settle`)."""

    state: Outcome
    reason: str
    claimed: tuple[Delivery, ...] = ()


NOT_RECORDED = (
    "%s: could not record the outcome; it stays in sending until its lease ends and it is reconciled"
)
NOT_POSTED = "reconciled after an interrupted send: it was not posted, so it is safe to send again"


class Settler:
    """Records outcomes in the store (through ``calls``), logs them and emits them on ``events``."""

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

    async def settle(
        self,
        delivery: Delivery,
        result: Receipt | BaseException,
        settings: ChannelSettings | None,
        *,
        then_claim: ClaimRequest | None = None,
    ) -> Settled:
        """Record what an attempt ended with (see the module table); never raises (but for cancellation).

        ``then_claim``: a receipt's commit also claims what is due (the slot this send frees is filled
        again in one commit, :meth:`Store.mark_sent`); what it claimed is in :attr:`Settled.claimed`. Other
        outcomes claim nothing: the dispatcher's next claim fills the slot."""
        return await self._guarded(delivery, self._settle(delivery, result, settings, then_claim))

    async def settle_reconciled(
        self, delivery: Delivery, found: Receipt | BaseException | None, settings: ChannelSettings | None
    ) -> Settled:
        """Record what reconciling a delivery left in ``sending`` found: a receipt, None (surely not
        posted), or the error that kept the network from telling (the delivery becomes ``unknown``)."""
        return await self._guarded(delivery, self._settle_reconciled(delivery, found, settings))

    async def _guarded(self, delivery: Delivery, settling: Awaitable[Settled]) -> Settled:
        try:
            return await settling
        except (DeliveryConflict, DeliveryNotFound) as exc:
            log.warning("%s: changed meanwhile, left to its new owner: %s", label(delivery), exc)
            return Settled(Outcome.CONFLICT, str(exc))
        except Exception as exc:
            log.exception(NOT_RECORDED, label(delivery))
            return Settled(Outcome.SENDING, f"could not record the outcome: {exc}")

    async def _settle(
        self,
        delivery: Delivery,
        result: Receipt | BaseException,
        settings: ChannelSettings | None,
        then_claim: ClaimRequest | None = None,
    ) -> Settled:
        now = self.clock()
        if isinstance(result, Receipt):
            return await self._sent(delivery, result, now, then_claim)
        if isinstance(result, ChannelUnavailable):
            await self._pause(delivery, None, result.reason, now, PauseCause.UNAVAILABLE)
            await self.calls(self.store.mark_retry, delivery.id, at=now, reason=result.reason, now=now)
            self.events.emit(
                self._failure(delivery, FailureKind.UNAVAILABLE, result.reason, now, retry_at=now)
            )
            return Settled(Outcome.RETRYING, result.reason)
        if isinstance(result, AuthError):
            reason = scrub(result.reason, settings)
            fix = auth_fix_hint(delivery.channel, settings.network if settings else "")
            pause = f"credentials rejected ({reason}); {fix}"
            failed = f"{reason}; after fixing the credentials run `tagcast queue retry {delivery.id}`"
            await self._pause(delivery, None, pause, now, PauseCause.AUTH)
            return await self._failed(delivery, FailureKind.AUTH, failed, now)
        if isinstance(result, PermanentDeliveryError):
            return await self._failed(delivery, FailureKind.PERMANENT, scrub(result.reason, settings), now)
        if isinstance(result, UnknownOutcome):
            return await self._unknown(delivery, scrub(result.reason, settings), now)
        if isinstance(result, TransientDeliveryError):
            reason = scrub(result.reason, settings)
            return await self._retry(delivery, reason, result.retry_after, now, FailureKind.TRANSIENT)
        text = scrub("".join(traceback.format_exception(result)), settings)
        log.error(
            "%s: unexpected error in the %s adapter (a bug):\n%s", label(delivery), delivery.network, text
        )
        message = scrub(f"{type(result).__name__}: {result}", settings)
        reason = f"unexpected error (a bug; see the log): {message}"
        return await self._retry(delivery, reason, None, now, FailureKind.BUG)

    async def _settle_reconciled(
        self, delivery: Delivery, found: Receipt | BaseException | None, settings: ChannelSettings | None
    ) -> Settled:
        now = self.clock()
        if isinstance(found, Receipt):
            return await self._sent(delivery, found, now)
        if found is None:
            await self.calls(self.store.mark_retry, delivery.id, at=now, reason=NOT_POSTED, now=now)
            event = self._failure(delivery, FailureKind.TRANSIENT, NOT_POSTED, now, retry_at=now)
            log.warning("%s: was not posted before the interruption; sending it again", label(delivery))
            self.events.emit(event)
            return Settled(Outcome.RETRYING, NOT_POSTED)
        if isinstance(found, UnknownOutcome):
            reason = f"after an interrupted send: {scrub(found.reason, settings)}"
        elif isinstance(found, DeliveryError | ChannelUnavailable):
            reason = f"could not check after an interrupted send: {scrub(str(found), settings)}"
        else:
            text = scrub("".join(traceback.format_exception(found)), settings)
            log.error("%s: reconcile crashed (a bug):\n%s", label(delivery), text)
            message = scrub(f"{type(found).__name__}: {found}", settings)
            reason = f"reconcile failed (a bug; see the log): {message}"
        return await self._unknown(delivery, reason, now)

    async def _sent(
        self, delivery: Delivery, receipt: Receipt, now: datetime, then_claim: ClaimRequest | None = None
    ) -> Settled:
        """Record ``receipt`` (and claim ``then_claim`` in its commit); a rate-limit quota it says is used
        up pauses the channel first."""
        pause = self.policy.server_wait(receipt.pause_for)
        if pause is not None:
            until = later(now, pause)
            reason = f"rate-limit quota used up by {delivery.id}: no request before {until.isoformat()}"
            await self._pause(delivery, until, reason, now, PauseCause.QUOTA)
        claimed = await self.calls(self.store.mark_sent, delivery.id, receipt, now=now, then_claim=then_claim)
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
        return Settled(Outcome.SENT, where, tuple(claimed))

    async def _unknown(self, delivery: Delivery, reason: str, now: datetime) -> Settled:
        if "tagcast queue resolve" not in reason:
            reason += (
                f"; check the account, then run `tagcast queue resolve {delivery.id} --sent URL` "
                "or `--not-sent`"
            )
        await self.calls(self.store.mark_unknown, delivery.id, reason=reason, now=now)
        event = DeliveryUnknown.of(delivery, at=now, reason=reason)
        log.warning("%s: outcome unknown, not resent: %s", label(delivery), reason, extra=event.fields())
        self.events.emit(event)
        return Settled(Outcome.UNKNOWN, reason)

    async def _failed(self, delivery: Delivery, kind: FailureKind, reason: str, now: datetime) -> Settled:
        await self.calls(self.store.mark_failed, delivery.id, reason=reason, now=now)
        event = self._failure(delivery, kind, reason, now)
        log.error("%s: failed: %s", label(delivery), reason, extra=event.fields())
        self.events.emit(event)
        return Settled(Outcome.FAILED, reason)

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

    @staticmethod
    def _failure(
        delivery: Delivery, kind: FailureKind, reason: str, now: datetime, retry_at: datetime | None = None
    ) -> DeliveryFailed:
        return DeliveryFailed.of(
            delivery, at=now, kind=kind, reason=reason, final=retry_at is None, retry_at=retry_at
        )

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
            return await self._failed(delivery, kind, full, now)
        await self.calls(self.store.mark_retry, delivery.id, at=decision.at, reason=full, now=now)
        event = self._failure(delivery, kind, full, now, retry_at=decision.at)
        log.warning(
            "%s: will retry at %s: %s", label(delivery), decision.at.isoformat(), full, extra=event.fields()
        )
        self.events.emit(event)
        return Settled(Outcome.RETRYING, full)
