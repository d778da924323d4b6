"""``GET /metrics``: the service in the Prometheus text format (``prometheus-client``).

From the outbox, read when scraped (:meth:`Metrics.refresh`; the last good reading is kept when the store
does not answer, and ``tagcast_outbox_up`` drops to 0):

=========================================  =====  ===================================================
``tagcast_deliveries{channel,state}``      gauge  deliveries per channel and state (every state shown)
``tagcast_queue_depth``                    gauge  deliveries still to go out (planned, retrying, sending)
``tagcast_next_due_timestamp_seconds``     gauge  when the next delivery is due (Unix seconds; absent
                                                  when nothing is queued)
``tagcast_channel_paused{channel}``        gauge  1 while the channel is paused, else 0
``tagcast_outbox_up``                      gauge  1 when the last reading of the outbox succeeded
=========================================  =====  ===================================================

From the events of this process (:mod:`scheduler.service.events`):

==================================================  =========  ========================================
``tagcast_delivery_attempts_total{channel,outcome}`` counter  attempts by outcome (sent, retrying, failed,
                                                              unknown)
``tagcast_delivery_failures_total{channel,kind}``   counter    failed attempts by kind (transient, auth,
                                                              permanent, unavailable, bug, unknown)
``tagcast_dispatch_lateness_seconds{channel}``      histogram  sent time minus planned time
``tagcast_channel_pauses_total{channel,cause}``     counter    pauses (auth, rate_limit, quota, unavailable)
``tagcast_alerts_total{result}``                    counter    alert messages sent, failed, suppressed or
                                                              dropped (queue full)
==================================================  =========  ========================================
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler.service.events import (
    ChannelPaused,
    DeliveryFailed,
    DeliverySent,
    DeliveryUnknown,
    Event,
)
from scheduler.store import DeliveryState, Store

log = logging.getLogger("tagcast.service")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENESS_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600, float("inf"))
WAITING = (DeliveryState.PLANNED, DeliveryState.RETRYING, DeliveryState.SENDING)


@dataclass
class OutboxReading:
    """What the outbox said at the last refresh."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)
    next_due: datetime | None = None
    up: bool = False


def read_outbox(store: Store, now: datetime) -> OutboxReading:
    """One reading of the outbox (three read queries)."""
    return OutboxReading(
        counts=store.counts(),
        paused=set(store.paused(now)),
        next_due=store.next_due(now),
        up=True,
    )


class OutboxCollector(Collector):
    """Yields the gauges of the last :class:`OutboxReading` (see the module table)."""

    def __init__(self, channels: Callable[[], Iterable[str]]) -> None:
        self.channels = channels
        self.reading = OutboxReading()

    def collect(self) -> Iterator[Metric]:
        reading = self.reading
        names = sorted(set(self.channels()) | set(reading.counts) | reading.paused)
        deliveries = GaugeMetricFamily(
            "tagcast_deliveries",
            "Deliveries in the outbox by channel and state.",
            labels=["channel", "state"],
        )
        for name in names:
            counts = reading.counts.get(name, {})
            for state in DeliveryState:
                deliveries.add_metric([name, state.value], counts.get(state.value, 0))
        yield deliveries
        depth = sum(counts.get(state.value, 0) for counts in reading.counts.values() for state in WAITING)
        yield GaugeMetricFamily(
            "tagcast_queue_depth", "Deliveries still to go out (planned, retrying, sending).", value=depth
        )
        if reading.next_due is not None:
            yield GaugeMetricFamily(
                "tagcast_next_due_timestamp_seconds",
                "When the next delivery is due, in Unix seconds.",
                value=reading.next_due.timestamp(),
            )
        paused = GaugeMetricFamily(
            "tagcast_channel_paused", "1 while the channel is paused, else 0.", labels=["channel"]
        )
        for name in names:
            paused.add_metric([name], 1 if name in reading.paused else 0)
        yield paused
        yield GaugeMetricFamily(
            "tagcast_outbox_up", "1 when the last reading of the outbox succeeded.", value=int(reading.up)
        )


class Metrics:
    """The service's Prometheus registry: subscribe :meth:`observe` to the event bus, serve :meth:`render`."""

    def __init__(self, channels: Callable[[], Iterable[str]]) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no ``*_created`` series
        self.registry = CollectorRegistry()
        self.outbox = OutboxCollector(channels)
        self.registry.register(self.outbox)
        self.attempts = Counter(
            "tagcast_delivery_attempts",
            "Delivery attempts by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "tagcast_delivery_failures",
            "Failed delivery attempts by channel and kind.",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.lateness = Histogram(
            "tagcast_dispatch_lateness_seconds",
            "How long after its planned time a delivery went out.",
            ["channel"],
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.pauses = Counter(
            "tagcast_channel_pauses",
            "Channel pauses by cause.",
            ["channel", "cause"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "tagcast_alerts", "Alert messages by result.", ["result"], registry=self.registry
        )

    def observe(self, event: Event) -> None:
        """The event bus subscriber."""
        if isinstance(event, DeliverySent):
            self.attempts.labels(event.channel, "sent").inc()
            self.lateness.labels(event.channel).observe(event.lateness.total_seconds())
        elif isinstance(event, DeliveryFailed):
            self.attempts.labels(event.channel, "failed" if event.final else "retrying").inc()
            self.failures.labels(event.channel, event.kind.value).inc()
        elif isinstance(event, DeliveryUnknown):
            self.attempts.labels(event.channel, "unknown").inc()
            self.failures.labels(event.channel, "unknown").inc()
        elif isinstance(event, ChannelPaused):
            self.pauses.labels(event.channel, event.cause.value).inc()

    def count_alert(self, result: str, number: int = 1) -> None:
        """An alert message ``sent``, ``failed``, ``suppressed`` (rate limit) or ``dropped`` (queue full)."""
        self.alerts.labels(result).inc(number)

    async def refresh(self, store: Store, *, timeout: float) -> None:
        """Read the outbox now (in a thread, at most ``timeout`` seconds); keep the last reading when it
        fails."""
        try:
            reading = await asyncio.wait_for(
                asyncio.to_thread(read_outbox, store, datetime.now(UTC)), timeout
            )
        except Exception as exc:
            log.warning("metrics: could not read the outbox: %s", exc)
            self.outbox.reading.up = False
            return
        self.outbox.reading = reading

    def render(self) -> bytes:
        return generate_latest(self.registry)
