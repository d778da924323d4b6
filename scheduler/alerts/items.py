"""Which events need a person, said in one line each with the command that helps (``[alerts] events``).

====================  ===================================================  ================================
event                 reported when                                        command
====================  ===================================================  ================================
DeliveryFailed        ``final`` (the delivery is ``failed`` for good)      ``tagcast queue retry ID``
DeliveryUnknown       always                                               ``tagcast queue resolve ID ...``
ChannelPaused         auth or unavailable; a rate limit or used-up quota   ``tagcast queue resume CH``
                      only when longer than ``alerts.pause_threshold``
SlotMissed            always (sent late, or moved to a later slot)         ``tagcast queue show ID``
ServiceStarted        ``after_crash``                                      ``tagcast status``
ConfigReloadRefused   always                                               ``tagcast config validate``
SourcePollFailed      once per run of failed polls of a source             ``tagcast status --check``
TokenExpiring         once per channel and expiry                          ``tagcast channels test CH``
====================  ===================================================  ================================
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from scheduler.config.alerts import AlertEvent, AlertsSettings
from scheduler.config.durations import format_duration
from scheduler.service.events import (
    ChannelPaused,
    ConfigReloadRefused,
    DeliveryFailed,
    DeliveryUnknown,
    Event,
    PauseCause,
    ServiceStarted,
    SlotMissed,
    SourcePollFailed,
    TokenExpiring,
)

REASON_CHARS = 240
"""Reasons are cut to this many characters: the alert says what and where; the log and ``queue show``
say all."""


@dataclass(frozen=True)
class AlertItem:
    """One problem: ``kind``, the channel it is about (None: the service as a whole), a one-line ``summary``,
    and the ``command`` that helps."""

    kind: AlertEvent
    at: datetime
    channel: str | None
    summary: str
    command: str | None = None
    delivery_id: str | None = None
    source: str | None = None


def short(reason: str, limit: int = REASON_CHARS) -> str:
    """``reason`` on one line, at most ``limit`` characters."""
    text = " ".join(reason.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def alert_item(event: Event, settings: AlertsSettings) -> AlertItem | None:
    """The alert for ``event``, or None when it is not reported (see the module table)."""
    if isinstance(event, DeliveryFailed):
        if not event.final or not settings.reports(AlertEvent.FAILED):
            return None
        return AlertItem(
            AlertEvent.FAILED,
            event.at,
            event.channel,
            f"failed: {event.delivery_id} ({event.source}): {short(event.reason)}",
            f"tagcast queue retry {event.delivery_id}   (once the cause is fixed)",
            event.delivery_id,
            event.source,
        )
    if isinstance(event, DeliveryUnknown):
        if not settings.reports(AlertEvent.UNKNOWN):
            return None
        return AlertItem(
            AlertEvent.UNKNOWN,
            event.at,
            event.channel,
            f"unknown: {event.delivery_id} ({event.source}) may or may not be out: {short(event.reason)}",
            f"tagcast queue resolve {event.delivery_id} --sent URL   (or --not-sent)",
            event.delivery_id,
            event.source,
        )
    if isinstance(event, ChannelPaused):
        return _paused(event, settings)
    if isinstance(event, SlotMissed):
        if not settings.reports(AlertEvent.MISSED_SLOT):
            return None
        by = f" by {format_duration(event.missed_by)}" if event.missed_by is not None else ""
        what = (
            f"moved to {event.moved_to.isoformat(timespec='minutes')}"
            if event.moved_to is not None
            else "goes out late"
        )
        return AlertItem(
            AlertEvent.MISSED_SLOT,
            event.at,
            event.channel,
            f"missed its slot{by} while the service was down: {event.delivery_id} ({event.source}) {what}",
            f"tagcast queue show {event.delivery_id}",
            event.delivery_id,
            event.source,
        )
    if isinstance(event, ServiceStarted):
        if not event.after_crash or not settings.reports(AlertEvent.CRASH_RESTART):
            return None
        seen = f", last seen {event.last_seen.isoformat(timespec='seconds')}" if event.last_seen else ""
        left = (
            f"; {event.leftovers} delivery(ies) it left in sending were reconciled" if event.leftovers else ""
        )
        return AlertItem(
            AlertEvent.CRASH_RESTART,
            event.at,
            None,
            f"started after a crash: the previous run ({event.previous_worker}{seen}) did not stop "
            f"cleanly{left}",
            "tagcast status   (and the service's log, e.g. journalctl -u tagcast)",
        )
    if isinstance(event, ConfigReloadRefused):
        if not settings.reports(AlertEvent.CONFIG_REFUSED):
            return None
        return AlertItem(
            AlertEvent.CONFIG_REFUSED,
            event.at,
            None,
            f"config reload refused, the running config stays in force: {short(event.reason)}",
            "tagcast config validate",
        )
    if isinstance(event, SourcePollFailed):
        if not settings.reports(AlertEvent.SOURCE_FAILED):
            return None
        return AlertItem(
            AlertEvent.SOURCE_FAILED,
            event.at,
            None,
            f"source {event.source}: poll failed, its new entries wait: {short(event.reason)}",
            "tagcast status --check",
            source=event.source,
        )
    if isinstance(event, TokenExpiring):
        if not settings.reports(AlertEvent.TOKEN_EXPIRING):
            return None
        return AlertItem(
            AlertEvent.TOKEN_EXPIRING,
            event.at,
            event.channel,
            short(event.reason),
            f"tagcast channels test {event.channel}   (once the new token is in place)",
        )
    return None


def _paused(event: ChannelPaused, settings: AlertsSettings) -> AlertItem | None:
    if not settings.reports(AlertEvent.PAUSED):
        return None
    duration = event.duration
    if event.cause in (PauseCause.RATE_LIMIT, PauseCause.QUOTA) and (
        duration is not None and duration <= settings.pause_threshold
    ):
        return None
    if event.until is None:
        span, command = "until resumed", f"tagcast queue resume {event.channel}"
        if event.cause is PauseCause.AUTH:
            command = (
                f"tagcast channels test {event.channel}, then {command}   (once the credentials are fixed)"
            )
    else:
        span = f"until {event.until.isoformat(timespec='minutes')}"
        command = f"nothing: it resumes by itself (or tagcast queue resume {event.channel})"
    return AlertItem(
        AlertEvent.PAUSED,
        event.at,
        event.channel,
        f"channel paused {span}: {short(event.reason)}",
        command,
        event.delivery_id,
        event.source,
    )
