"""What happened in the service, as typed events, and a tiny in-process bus that hands them to subscribers.

The service emits an event where it records an outcome (:mod:`scheduler.service.outcomes`) or decides
something at start-up or on reload (:mod:`scheduler.service.runner`); metrics, alerts and structured logs
subscribe. A subscriber must be quick and must not block (the alerts subscriber only queues the event); one
that raises is logged and never disturbs the emitter or the other subscribers::

    bus = EventBus()
    bus.subscribe(metrics.observe)
    bus.emit(DeliverySent(delivery_id="d-1", channel="masto", source="posts/a.md", ...))
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, Self

log = logging.getLogger("tagcast.events")


class FailureKind(StrEnum):
    """Why an attempt did not end in ``sent`` (the ``kind`` label of the failure metric)."""

    TRANSIENT = "transient"
    """A timeout, a 429 or a 5xx: retried (or given up after ``max_attempts``/``max_age``)."""
    PERMANENT = "permanent"
    """The server refused the post for good (422, other 4xx)."""
    AUTH = "auth"
    """Credentials rejected (401/403): the channel pauses."""
    UNAVAILABLE = "unavailable"
    """The channel is gone, disabled or its adapter is missing: the channel pauses."""
    BUG = "bug"
    """An unexpected exception in an adapter: retried; the traceback is logged."""


class PauseCause(StrEnum):
    """Why a channel was paused."""

    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    QUOTA = "quota"
    """The network's rate-limit counter reached zero on a successful post."""
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event: when it happened (aware, UTC)."""

    at: datetime
    name = "event"

    def fields(self) -> dict[str, Any]:
        """Structured fields for a JSON log line (``event`` plus what identifies the subject)."""
        return {"event": self.name}


class AboutDelivery(Protocol):
    """What a delivery event takes from the delivery it is about (a :class:`scheduler.store.Delivery`)."""

    @property
    def id(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def network(self) -> str: ...
    @property
    def attempts(self) -> int: ...


@dataclass(frozen=True, kw_only=True)
class DeliveryEvent(Event):
    """An event about one delivery: its id, channel, network, article source and attempt number."""

    delivery_id: str
    channel: str
    source: str
    network: str = ""
    attempt: int = 0

    @classmethod
    def of(cls, delivery: AboutDelivery, *, at: datetime, **details: Any) -> Self:
        """The event about ``delivery`` (its id, channel, source, network and attempt), with ``details``."""
        return cls(
            at=at,
            delivery_id=delivery.id,
            channel=delivery.channel,
            source=delivery.source,
            network=delivery.network,
            attempt=delivery.attempts,
            **details,
        )

    def fields(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "delivery_id": self.delivery_id,
            "channel": self.channel,
            "source": self.source,
            "attempt": self.attempt,
        }


@dataclass(frozen=True, kw_only=True)
class DeliverySent(DeliveryEvent):
    """The network took the post; ``at - scheduled_at`` is how late it went out."""

    name = "delivery.sent"
    scheduled_at: datetime
    url: str | None = None
    remote_ids: tuple[str, ...] = ()

    @property
    def lateness(self) -> timedelta:
        return max(self.at - self.scheduled_at, timedelta(0))


@dataclass(frozen=True, kw_only=True)
class DeliveryFailed(DeliveryEvent):
    """An attempt failed. ``final``: the delivery is ``failed`` for good; otherwise it retries at
    ``retry_at``."""

    name = "delivery.failed"
    kind: FailureKind
    reason: str
    final: bool
    retry_at: datetime | None = None

    def fields(self) -> dict[str, Any]:
        return {**super().fields(), "kind": self.kind.value, "final": self.final}


@dataclass(frozen=True, kw_only=True)
class DeliveryUnknown(DeliveryEvent):
    """Nobody can tell whether the post is out: it waits for ``tagcast queue resolve``."""

    name = "delivery.unknown"
    reason: str


@dataclass(frozen=True, kw_only=True)
class ChannelPaused(Event):
    """A channel stopped posting until ``until`` (None: until ``tagcast queue resume``)."""

    name = "channel.paused"
    channel: str
    until: datetime | None
    reason: str
    cause: PauseCause
    delivery_id: str | None = None
    source: str | None = None

    @property
    def duration(self) -> timedelta | None:
        """How long the pause lasts; None: until resumed."""
        return None if self.until is None else max(self.until - self.at, timedelta(0))

    def fields(self) -> dict[str, Any]:
        return {
            "event": self.name,
            "channel": self.channel,
            "delivery_id": self.delivery_id,
            "source": self.source,
            "cause": self.cause.value,
        }


@dataclass(frozen=True, kw_only=True)
class SlotMissed(DeliveryEvent):
    """A planned post's slot passed while the service was down: it goes out late, or ``moved_to`` a later
    slot."""

    name = "delivery.missed_slot"
    missed_by: timedelta | None = None
    """How late it goes out (None when it was moved: its history says by how much it missed)."""
    moved_to: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceStarted(Event):
    """This worker started. ``after_crash``: the previous run on this host did not stop cleanly
    (``previous_worker`` names it, ``last_seen`` is its last heartbeat); ``leftovers`` deliveries it left in
    ``sending`` were reconciled."""

    name = "service.started"
    worker_id: str
    after_crash: bool
    previous_worker: str | None = None
    last_seen: datetime | None = None
    leftovers: int = 0

    def fields(self) -> dict[str, Any]:
        return {"event": self.name, "worker": self.worker_id, "after_crash": self.after_crash}


@dataclass(frozen=True, kw_only=True)
class ConfigReloadRefused(Event):
    """A changed config did not validate; the running one stays in force."""

    name = "config.reload_refused"
    reason: str
    config: str = ""


@dataclass(frozen=True, kw_only=True)
class SourcePollFailed(Event):
    """A poll of a ``[sources.NAME]`` feed failed after the previous one succeeded (or at its first)."""

    name = "source.poll_failed"
    source: str
    reason: str

    def fields(self) -> dict[str, Any]:
        return {"event": self.name, "source": self.source}


@dataclass(frozen=True, kw_only=True)
class TokenExpiring(Event):
    """A channel's token, which tagcast cannot refresh, expires within ``[alerts] token_warning`` (or has
    expired); emitted once per channel and expiry."""

    name = "token.expiring"
    channel: str
    expires_at: datetime
    reason: str

    def fields(self) -> dict[str, Any]:
        return {"event": self.name, "channel": self.channel, "expires_at": self.expires_at.isoformat()}


Subscriber = Callable[[Event], None]


@dataclass
class EventBus:
    """Hands each emitted event to every subscriber, in order; a subscriber's exception is logged."""

    subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        self.subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self.subscribers:
                self.subscribers.remove(subscriber)

        return unsubscribe

    def emit(self, event: Event) -> None:
        """Never raises (a subscriber that fails is logged with its traceback)."""
        for subscriber in list(self.subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception(
                    "an event subscriber failed on %s (the event is not lost for others)", event.name
                )
