"""The last line of defence against leaked secrets: mask every configured secret value in any text.

Secrets are ``SecretStr`` and print as ``**********`` by themselves; but a server may echo a token in an error
message (verbatim, upper-cased, base64-encoded, cut short), a URL may carry one, and a bug may format one.
Everything tagcast writes for people or machines (log lines, the outbox's reasons, alerts, ``/metrics``,
``tagcast status``, ``tagcast channels test``) goes through a :class:`Redactor` built from the settings, so a
secret value never leaves the process in any of the forms it is likely to take::

    redactor = Redactor.from_settings(workspace.settings)
    redactor("token abc123 rejected")          # -> "token ********** rejected"

The failures of one channel's adapter are masked with :meth:`Redactor.for_channel`, its secrets only.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus

from scheduler.config.models import SECRET_KEYS, ChannelSettings
from scheduler.config.settings import Settings

MASK = "**********"
MIN_LENGTH = 4
"""Shorter values are not masked: masking every "abc" in every text would garble it and protect nothing."""
MIN_PREFIX = 8
"""A beginning of a secret this long, left by a cut (``Bearer MASTOSECRE…``), is masked too."""


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
    # SQLAlchemy takes a tenth of a second to import: only when there is a store URL to read
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    try:
        password = make_url(url).password
    except Exception:  # not a URL: nothing to mask
        return []
    return [str(password)] if password else []


def _forms(value: str) -> set[str]:
    """The value as written, URL-encoded (path and query), JSON-escaped and base64-encoded."""
    forms = {value, quote(value, safe=""), quote(value, safe="/:"), quote_plus(value)}
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    forms.add(json.dumps(value)[1:-1])
    forms |= _base64_forms(value.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_LENGTH}


def _base64_forms(raw: bytes) -> set[str]:
    """``raw`` in base64, standard and URL-safe, with and without padding; and, for each of the three
    alignments it can have inside a longer encoded text (``user:secret`` in a Basic auth header), the run of
    characters that only its bytes determine."""
    forms: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        for shift in (0, 1, 2):
            encoded = encode(b"\0" * shift + raw).decode("ascii")
            core = encoded[-(-8 * shift // 6) : 8 * (shift + len(raw)) // 6]
            if len(core) >= MIN_PREFIX:
                forms.add(core)
    return forms


_CUT = re.compile(r"…|\.\.\.")
"""Where a text may have been cut: before an ellipsis (and at its very end)."""


class Redactor:
    """Masks a fixed set of secret values in text; callable. Every output path uses one: log lines
    (:mod:`scheduler.service.logs`), the reasons stored in the outbox and shown by ``tagcast queue``, alerts,
    ``tagcast status``, ``tagcast channels test``, exception messages.

    Each secret is masked in every form a server is likely to echo it in: verbatim, URL-encoded,
    JSON-escaped, base64 (standard and URL-safe, padded or not, alone or inside a longer encoded text), in
    any letter case. A text cut short is covered too: a beginning of a secret (at least
    :data:`MIN_PREFIX` characters of any form) right before the end of the text or an ellipsis is masked.
    Apply it BEFORE cutting a text where possible: then no beginning is left to guess at.
    Longer forms are masked first, so a secret that contains another is masked whole."""

    def __init__(self, values: Iterable[str] = (), *, shown: Mapping[str, str] | None = None) -> None:
        """``values`` are masked as :data:`MASK`; each key of ``shown`` (a URL that may hold a secret, say) is
        replaced, as written, by its value (the URL's redacted form) before that."""
        self._shown = sorted(
            ((text, instead) for text, instead in (shown or {}).items() if text and text != instead),
            key=lambda pair: len(pair[0]),
            reverse=True,
        )
        forms: set[str] = set()
        for value in values:
            if value and len(value) >= MIN_LENGTH:
                forms |= _forms(value)
        self._forms = sorted(forms, key=len, reverse=True)
        self._pattern: re.Pattern[str] | None = None
        """Compiled when first needed (rarely: :meth:`_mask_forms`)."""
        self._lower_forms = sorted({form.lower() for form in self._forms}, key=len, reverse=True)
        self._tails: dict[str, list[str]] = {}
        """The last :data:`MIN_PREFIX` characters of each beginning of a form (lower case) -> the
        beginnings (of :data:`MIN_PREFIX` characters or more, shorter than the form) that end so."""
        for form in self._lower_forms:
            for end in range(MIN_PREFIX, len(form)):
                self._tails.setdefault(form[end - MIN_PREFIX : end], []).append(form[:end])
        for beginnings in self._tails.values():
            beginnings.sort(key=len, reverse=True)

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """Masks every secret of ``settings``: all channels' and the store's (:func:`secret_values`)."""
        return cls(secret_values(settings))

    @classmethod
    def for_channel(cls, channel: ChannelSettings | None) -> Redactor:
        """Masks the secrets of one channel only (for the errors of its adapter); None masks nothing."""
        return cls(channel_secret_values(channel) if channel is not None else ())

    def __bool__(self) -> bool:
        return bool(self._forms or self._shown)

    def __call__(self, text: str) -> str:
        for written, instead in self._shown:
            text = text.replace(written, instead)
        if not self._forms:
            return text
        text = self._mask_forms(text)
        cuts = [match.start() for match in _CUT.finditer(text)]
        cuts.append(len(text.rstrip()))
        for cut in sorted(set(cuts), reverse=True):  # from the end: earlier positions stay valid
            text = self._mask_beginning_before(text, cut)
        return text

    def _mask_forms(self, text: str) -> str:
        """Every form, in any case, masked: found with ``str.find`` on the lower-cased text (fast), or with
        the case-insensitive pattern when lower-casing changes the length (then indexes would not match)."""
        low = text.lower()
        if len(low) != len(text):
            if self._pattern is None:
                alternatives = "|".join(re.escape(form) for form in self._forms)
                self._pattern = re.compile(alternatives, re.IGNORECASE)
            return self._pattern.sub(MASK, text)
        spans: list[tuple[int, int]] = []
        for form in self._lower_forms:
            start = low.find(form)
            while start != -1:
                spans.append((start, start + len(form)))
                start = low.find(form, start + len(form))
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        done = 0
        for start, end in spans:
            if end <= done:
                continue
            if start >= done:
                out.append(text[done:start])
                out.append(MASK)
            done = end
        out.append(text[done:])
        return "".join(out)

    def _mask_beginning_before(self, text: str, cut: int) -> str:
        if cut < MIN_PREFIX:
            return text
        for beginning in self._tails.get(text[cut - MIN_PREFIX : cut].lower(), ()):
            start = cut - len(beginning)
            if start >= 0 and text[start:cut].lower() == beginning:
                return text[:start] + MASK + text[cut:]
        return text
