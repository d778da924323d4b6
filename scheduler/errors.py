"""The one exception tree of tagcast.

::

    TagcastError
    ├── UserError                 a problem the user can fix (exit code 1, no traceback)
    │   ├── ConfigError           config/tagcast.toml, .env or environment: names the key (and TOML line)
    │   ├── ArticleError          a file in posts/ that cannot be read: names the file and line
    │   ├── TemplateError         a Jinja2 template that fails: names the template file and line
    │   ├── ScheduleError         a schedule that cannot produce slots
    │   └── UnknownNetwork        (LookupError) a channel names a network no adapter provides
    └── DeliveryError             sending failed (raised by adapters)
        ├── TransientDeliveryError  retry later, not before ``retry_after`` seconds
        ├── PermanentDeliveryError  do not retry; ``reason`` is the server's own words
        │   └── AuthError           credentials rejected: the channel is paused until fixed
        └── UnknownOutcome         the network cannot tell whether it was posted: never resend automatically
"""

from __future__ import annotations

from scheduler.safe_text import shown


class TagcastError(Exception):
    """Root of every error tagcast raises on purpose."""


class UserError(TagcastError):
    """A problem the user can act on. The CLI prints it without a traceback and exits 1."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(UserError):
    """The configuration is invalid; ``problems`` lists every problem found, one line each."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class ArticleError(UserError):
    """An article file could not be read. ``source`` is the file (relative to the workspace), ``line``
    1-based."""

    def __init__(
        self, source: str, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"{shown(source)}:{line}" if line else shown(source)
        super().__init__(f"{where}: {message}", hint=hint)
        self.source = source
        self.line = line


class TemplateError(UserError):
    """A template failed to load or render. ``template`` is its file name, ``line`` 1-based when known."""

    def __init__(
        self, template: str, message: str, *, line: int | None = None, hint: str | None = None
    ) -> None:
        where = f"template {template}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.template = template
        self.line = line


class ScheduleError(UserError):
    """A schedule that is malformed or can never produce a slot."""


class UnknownNetwork(UserError, LookupError):
    """A channel names a network for which no adapter is installed."""


class DeliveryError(TagcastError):
    """Sending a post failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """Try again later; never before ``retry_after`` seconds (when the server said so)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Do not retry: the server refused the post for good (``reason`` holds its words)."""


class AuthError(PermanentDeliveryError):
    """The credentials were rejected; the channel stays paused until they are fixed."""


class UnknownOutcome(DeliveryError):
    """Whether the post went out cannot be known (X duplicate 403, a lost answer on a network without keys).

    The delivery becomes ``unknown`` and waits for ``tagcast queue resolve``; it is never resent
    automatically.
    """
