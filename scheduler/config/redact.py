"""The last line of defence against leaked secrets: mask every configured secret value in any text.

Secrets are ``SecretStr`` and print as ``**********`` by themselves; but a server may echo a token in an error
message, a URL may carry one, and a bug may format one. Everything tagcast writes for people or machines while
serving (log lines, alerts, ``/metrics``, ``tagcast status``) goes through a :class:`Redactor` built from the
settings, so a secret value never leaves the process in any of the forms it is likely to take::

    redactor = Redactor.from_settings(workspace.settings)
    redactor("token abc123 rejected")          # -> "token ********** rejected"

The failures of one channel's adapter are masked with :meth:`Redactor.for_channel`, its secrets only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import make_url

from scheduler.config.models import SECRET_KEYS, ChannelSettings
from scheduler.config.settings import Settings

MASK = "**********"
MIN_LENGTH = 4
"""Shorter values are not masked: masking every "abc" in every text would garble it and protect nothing."""


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold: each channel's secret keys (from the environment, ``.env`` or a
    ``*_file``) and the password of ``store.url``."""
    values = [value for channel in settings.channels.values() for value in channel_secret_values(channel)]
    values.extend(_store_password(settings.store.url))
    return values


def channel_secret_values(channel: ChannelSettings) -> list[str]:
    """The values of one channel's secret keys that are set."""
    return [value for key in SECRET_KEYS if (value := channel.secret_value(key))]


def _store_password(url: str) -> list[str]:
    try:
        password = make_url(url).password
    except Exception:  # not a URL: nothing to mask
        return []
    return [str(password)] if password else []


def _forms(value: str) -> set[str]:
    """The value as written, URL-encoded (path and query) and JSON-escaped."""
    forms = {value, quote(value, safe=""), quote(value, safe="/:"), quote_plus(value)}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(value)[1:-1])
    return {form for form in forms if len(form) >= MIN_LENGTH}


class Redactor:
    """Masks a fixed set of secret values in text; callable. Longer values are masked first, so a secret
    that contains another is masked whole."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for value in values:
            if value and len(value) >= MIN_LENGTH:
                forms |= _forms(value)
        self._forms = sorted(forms, key=len, reverse=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """Masks every secret of ``settings``: all channels' and the store's (:func:`secret_values`)."""
        return cls(secret_values(settings))

    @classmethod
    def for_channel(cls, channel: ChannelSettings | None) -> Redactor:
        """Masks the secrets of one channel only (for the errors of its adapter); None masks nothing."""
        return cls(channel_secret_values(channel) if channel is not None else ())

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text
