"""Send an alert message through the adapters of ``alerts.channels``: the same adapters that send posts.

An alert is not a delivery: it is not queued in the outbox and never retried. It is given to each alert
channel's adapter as an :class:`~scheduler.adapters.base.Outgoing` with a synthetic delivery id
``alert-<hash>`` and an idempotency key derived from the same hash (a network that dedupes by key takes a
repeated alert once), cut to fit the channel's length rules. Each send has its own timeout; a failure is
logged, with secrets masked, and reported as False: it never raises into the service::

    sender = AlertSender(settings, root, http)
    await sender.send("tagcast on host-1: channel \\"tg\\" needs a person ...", redact=redactor)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import httpx

from scheduler.adapters.base import Adapter, Journal, Outgoing
from scheduler.alerts.render import fit
from scheduler.config.settings import Settings
from scheduler.models import Article
from scheduler.service.channels import AdapterCache

log = logging.getLogger("tagcast.alerts")

SOURCE = "tagcast alerts"


def alert_ids(text: str, salt: str = "") -> tuple[str, str]:
    """``(delivery id, idempotency key)`` of an alert: the same text (and salt) gives the same ids."""
    digest = hashlib.sha256(f"{salt}\n{text}".encode()).hexdigest()
    return f"alert-{digest[:12]}", f"tagcast-alert-{digest[:40]}"


class AlertSender:
    """The alert channels' adapters, kept in an :class:`~scheduler.service.channels.AdapterCache` of their
    own (built on first use, dropped by :meth:`reload`)."""

    def __init__(self, settings: Settings, root: Path, http: httpx.AsyncClient) -> None:
        self.adapters = AdapterCache(settings, root, http)

    @property
    def settings(self) -> Settings:
        return self.adapters.settings

    def reload(self, settings: Settings) -> None:
        """Use ``settings`` from now on: the adapters are built again on next use."""
        self.adapters.reload(settings)

    @property
    def timeout(self) -> float:
        return max(self.settings.alerts.send_timeout.total_seconds(), 0.1)

    def _adapter(self, channel: str) -> Adapter | None:
        """The adapter of a configured, enabled channel; otherwise None, logged."""
        settings = self.adapters.channel_settings(channel)
        if settings is None:
            log.warning("alerts: channel %r is not configured; no alert goes through it", channel)
            return None
        if not settings.enabled:
            log.warning("alerts: channel %r is disabled (enabled = false); no alert goes through it", channel)
            return None
        return self.adapters.adapter(channel, settings)

    async def send(self, text: str, *, redact: Callable[[str], str], salt: str = "") -> bool:
        """Send ``text`` (masked with ``redact``) to every alert channel at once; True when at least one took
        it. Never raises (but for cancellation)."""
        channels = list(dict.fromkeys(self.settings.alerts.channels))
        results = await asyncio.gather(*(self._send_one(c, text, redact, salt) for c in channels))
        return any(results)

    async def _send_one(self, channel: str, text: str, redact: Callable[[str], str], salt: str) -> bool:
        try:
            adapter = self._adapter(channel)
            if adapter is None:
                return False
            rules = adapter.length_rules(adapter.settings)
            body = redact(fit(redact(text), rules.fits))
            delivery_id, key = alert_ids(body, f"{salt}\n{channel}")
            outgoing = Outgoing(
                delivery_id=delivery_id,
                idempotency_key=key,
                parts=(body,),
                article=Article(source=SOURCE, title="tagcast alert", body=body),
                channel=channel,
            )
            receipt = await asyncio.wait_for(adapter.publish(outgoing, Journal(state={})), self.timeout)
        except TimeoutError:
            log.warning(
                "alerts: alert not sent through channel %s: no answer within %.3gs (alerts.send_timeout)",
                channel,
                self.timeout,
                extra={"event": "alert.failed", "channel": channel},
            )
            return False
        except Exception as exc:
            log.warning(
                "alerts: alert not sent through channel %s: %s",
                channel,
                redact(f"{type(exc).__name__}: {exc}"),
                extra={"event": "alert.failed", "channel": channel},
            )
            return False
        log.info(
            "alerts: %s sent through channel %s%s",
            delivery_id,
            channel,
            f": {receipt.url}" if receipt.url else "",
            extra={"event": "alert.sent", "channel": channel, "delivery_id": delivery_id},
        )
        return True
