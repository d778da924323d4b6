"""The adapter of each channel, built once and cached until the config is reloaded; and what to tell the user
when a channel cannot post (its credentials, how to test them, how to resume it).
"""

from __future__ import annotations

from pathlib import Path

import httpx

from scheduler.adapters.base import Adapter
from scheduler.adapters.registry import load_adapter
from scheduler.config.credentials import secret_env_var, secret_keys
from scheduler.config.models import ChannelSettings
from scheduler.config.redact import Redactor
from scheduler.config.settings import Settings
from scheduler.errors import UnknownNetwork


class ChannelUnavailable(Exception):
    """A queued delivery names a channel that cannot post now (removed, disabled, or its adapter is missing).

    ``reason`` says why and how to fix it; the dispatcher pauses the channel with it and keeps the delivery.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def auth_fix_hint(channel: str, network: str) -> str:
    """How to repair rejected credentials of ``channel``: which variables, how to test, how to resume."""
    keys = secret_keys(network)
    if keys:
        names = ", ".join(secret_env_var(channel, key) for key in keys)
        where = f"set {names} (in the environment, .env, or a *_file key) to valid values"
    else:
        where = f"fix the credentials of [channels.{channel}] (environment, .env or a *_file key)"
    return (
        f"{where}; check them with `tagcast channels test {channel}`, "
        f"then run `tagcast queue resume {channel}`"
    )


def scrub(text: str, settings: ChannelSettings | None) -> str:
    """``text`` with every secret value of ``settings`` masked (for messages from foreign exceptions)."""
    return Redactor.for_channel(settings)(text)


class AdapterCache:
    """One adapter per channel, sharing one HTTP client; :meth:`reload` drops them for a new config."""

    def __init__(self, settings: Settings, root: Path, http: httpx.AsyncClient) -> None:
        self.settings = settings
        self.root = root
        self.http = http
        self._adapters: dict[str, Adapter] = {}

    def reload(self, settings: Settings) -> None:
        """Use ``settings`` from now on; sends in flight keep the adapter they started with."""
        self.settings = settings
        self._adapters = {}

    def channel_settings(self, channel: str) -> ChannelSettings | None:
        return self.settings.channels.get(channel)

    def get(self, channel: str) -> Adapter:
        """The adapter of ``channel``; ChannelUnavailable when it is gone, disabled or has no adapter."""
        settings = self.settings.channels.get(channel)
        if settings is None:
            raise ChannelUnavailable(
                f"channel '{channel}' is no longer in the config, so its queued posts wait; add "
                f"[channels.{channel}] back and run `tagcast queue resume {channel}`, or cancel them "
                f"(`tagcast queue list --channel {channel}`, `tagcast queue cancel ID`)"
            )
        if not settings.enabled:
            raise ChannelUnavailable(
                f"channel '{channel}' is disabled (enabled = false), so its queued posts wait; "
                f"set enabled = true and run `tagcast queue resume {channel}`, or cancel them"
            )
        try:
            return self.adapter(channel, settings)
        except UnknownNetwork as exc:
            raise ChannelUnavailable(
                f"channel '{channel}': {exc}; install the adapter, then run `tagcast queue resume {channel}`"
            ) from exc

    def adapter(self, channel: str, settings: ChannelSettings) -> Adapter:
        """The adapter of ``channel``, built from ``settings`` on first use, whether or not the channel is
        enabled (:meth:`get` checks that); UnknownNetwork when no adapter is installed for its network."""
        adapter = self._adapters.get(channel)
        if adapter is None:
            cls = load_adapter(settings.network)
            adapter = self._adapters[channel] = cls(channel, settings, http=self.http, root=self.root)
        return adapter
