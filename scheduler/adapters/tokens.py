"""Tokens that expire: where a refreshed token is kept, and how an expiry is told to a person.

A refreshed token goes where the user put the old one, and only there: the file named by the channel's
``<key>_file`` (``token_file``). Never the TOML file, and not when the secret came from the environment or
``.env``, which win over the file (a token written there would never be read)::

    stored = TokenFile.of(self.settings, self.root)         # None: nowhere to keep a refreshed token
    if stored is not None and stored.age() > 7 * 86400:
        answer = (await send(...refresh request...)).json()
        stored.store(answer["access_token"])                # atomically, keeping the file's permissions
        expiry = describe_expiry(time.time() + answer["expires_in"])

The ``threads`` adapter refreshes this way; a third-party adapter can too (docs/adapters.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scheduler.config.atomic import atomic_write_text
from scheduler.config.models import ChannelSettings


@dataclass(frozen=True, slots=True)
class TokenExpiry:
    """What an adapter learned of its token: when it expires (a Unix time; ``None``: it does not expire) and
    whether tagcast renews it by itself (``refreshable``). The service records it; ``tagcast status --check``
    and the ``token_expiring`` alert warn ``[alerts] token_warning`` before a token that is not refreshable
    expires."""

    expires_at: float | None
    refreshable: bool


@dataclass(frozen=True, slots=True)
class TokenFile:
    """The file holding a channel's secret ``key``, as named by its ``<key>_file`` setting."""

    path: Path
    shown: str
    """The path as the user wrote it, for messages."""

    @classmethod
    def of(
        cls, settings: ChannelSettings, root: Path, key: str = "token", *, current: str | None = None
    ) -> TokenFile | None:
        """The file of ``key`` when the secret in use (``current``, else the settings' value) is the one it
        holds; ``None`` when there is no such file, it cannot be read, or the secret came from elsewhere."""
        name = getattr(settings, f"{key}_file", None)
        if not name:
            return None
        path = Path(name).expanduser()
        path = path if path.is_absolute() else root / path
        in_use = current if current is not None else settings.secret_value(key)
        stored = cls(path, name)
        try:
            content = stored.read()
        except OSError:
            return None
        return stored if content and content == in_use else None

    def read(self) -> str:
        return self.path.read_text(encoding="utf-8").strip()

    def age(self, now: float | None = None) -> float:
        """Seconds since the file was last written (its modification time): when the token was stored."""
        return (time.time() if now is None else now) - self.path.stat().st_mtime

    def store(self, token: str) -> None:
        """Replace the file's content with ``token``, atomically and with the file's permissions."""
        atomic_write_text(self.path, token.strip() + "\n")


def describe_expiry(expires_at: float | None, *, now: float | None = None) -> str | None:
    """``"the token expires on 2027-02-04 (in 60 days)"``; ``"the token does not expire"`` for ``0`` (how
    Meta says never); ``None`` when unknown.

    >>> describe_expiry(1_800_000_000 + 86_400, now=1_800_000_000)
    'the token expires on 2027-01-16 (in 1 day)'
    """
    if expires_at is None or isinstance(expires_at, bool):
        return None
    if expires_at == 0:
        return "the token does not expire"
    moment = time.time() if now is None else now
    day = datetime.fromtimestamp(expires_at, UTC).date().isoformat()
    if expires_at <= moment:
        return f"the token expired on {day}"
    days = round((expires_at - moment) / 86400)
    return f"the token expires on {day} (in {days} day{'s' if days != 1 else ''})"
