"""``[alerts]``: which problems of the running service are reported, and through which channels.

Alerts are sent through tagcast's own adapters, so any configured channel can carry them: a Telegram chat, a
Discord or Slack webhook, a Mastodon account (set its ``visibility = "direct"``), the generic webhook, or the
local ``file`` channel::

    [alerts]
    channels = ["ops"]                    # configured channels; none: no alerts
    events = ["failed", "unknown", "paused", "missed_slot", "crash_restart", "config_refused"]
    group_window = "5m"                   # one message per channel for everything within this window
    max_per_hour = 20                     # then one "N more alerts suppressed" line
    pause_threshold = "15m"               # a rate-limit pause is reported only when longer than this
    token_warning = "7d"                  # warn this long before a token tagcast cannot refresh expires

    [alerts.digest]                       # optional: a daily summary of what went out, with links
    at = "08:00"
    timezone = "Europe/Berlin"
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum

from pydantic import Field, field_validator

from scheduler.config.durations import Duration
from scheduler.config.models import Section
from scheduler.config.zones import ZoneName

_CLOCK_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class AlertEvent(StrEnum):
    """What can be reported (the values of ``alerts.events``)."""

    FAILED = "failed"
    """A delivery failed for good (``tagcast queue retry ID`` once the cause is fixed)."""
    UNKNOWN = "unknown"
    """A delivery may or may not be out and waits for ``tagcast queue resolve ID``."""
    PAUSED = "paused"
    """A channel was paused: rejected credentials, a missing adapter, or a rate limit over the threshold."""
    MISSED_SLOT = "missed_slot"
    """A post missed its slot while the service was down (sent late, or moved to a later slot)."""
    CRASH_RESTART = "crash_restart"
    """The service started after its previous run on this host did not stop cleanly."""
    CONFIG_REFUSED = "config_refused"
    """A changed config was invalid; the running one stays in force."""
    SOURCE_FAILED = "source_failed"
    """A ``[sources.NAME]`` feed could not be polled (reported once, until a poll succeeds again)."""
    TOKEN_EXPIRING = "token_expiring"
    """A token tagcast cannot refresh expires within ``token_warning`` (reported once per expiry)."""


class DigestSettings(Section):
    """A daily summary of what went out in the last 24 hours, with the links the networks answered."""

    at: str = Field(description='Local time of day, "HH:MM" (24-hour clock), e.g. "08:00".')
    timezone: ZoneName = Field("UTC", description="IANA time zone of `at`, e.g. Europe/Berlin.")

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _CLOCK_TIME.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a time of day; write it like '08:00' or '18:30'")
        return value.strip()

    @property
    def time_of_day(self) -> time:
        hour, minute = self.at.split(":")
        return time(int(hour), int(minute))


class AlertsSettings(Section):
    """Report problems of ``tagcast serve`` through configured channels: which, grouped how, how often."""

    channels: list[str] = Field(
        default_factory=list, description="Channels that receive alerts (any configured channel); none: off."
    )
    events: list[AlertEvent] = Field(
        default_factory=lambda: list(AlertEvent),
        description="What to report: failed, unknown, paused, missed_slot, crash_restart, config_refused, "
        "source_failed, token_expiring.",
    )
    group_window: Duration = Field(  # type: ignore[assignment]
        default="5m", description="Problems of one channel within this window make one message."
    )
    max_per_hour: int = Field(
        20, ge=1, description='At most this many alert messages an hour; then one "N more suppressed" line.'
    )
    pause_threshold: Duration = Field(  # type: ignore[assignment]
        default="15m", description="Report a rate-limit pause only when it is longer than this."
    )
    token_warning: Duration = Field(  # type: ignore[assignment]
        default="7d",
        description="Warn (an alert, and `tagcast status --check`) this long before a token that tagcast "
        "cannot refresh expires.",
    )
    send_timeout: Duration = Field(  # type: ignore[assignment]
        default="10s", description="Give up sending one alert after this long (it is logged, never retried)."
    )
    digest: DigestSettings | None = Field(
        None, description="A daily summary of what went out, with links (optional)."
    )

    def reports(self, event: AlertEvent) -> bool:
        """Whether ``event`` is reported (alerts are on and the event is selected)."""
        return bool(self.channels) and event in self.events
