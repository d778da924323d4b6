"""Logging for ``tagcast serve``: one line per event, as text or as JSON for log shippers, secrets masked.

``--log-format text`` (the default)::

    2026-03-09 09:00:01,204 INFO    d-7f3a [masto] posts/nomonhan.md: sent (attempt 1): https://...

``--log-format json``: one object per line, with the delivery's fields of their own wherever a line is about a
delivery (taken from the event's ``extra`` or from the :class:`~scheduler.service.outcomes.DeliveryLabel`
among the arguments)::

    {"ts": "2026-03-09T08:00:01.204+00:00", "level": "info", "logger": "tagcast.service",
     "event": "delivery.sent", "message": "d-7f3a [masto] posts/nomonhan.md: sent ...",
     "delivery_id": "d-7f3a", "channel": "masto", "source": "posts/nomonhan.md", "attempt": 1}

Levels: a sent post is INFO, a retry or a pause WARNING, a post that failed for good ERROR.

A text record is one line: control characters in its message (a newline or an ESC in an article's file name or
title) are written as visible escapes (:func:`scheduler.safe_text.shown`), and the lines of a traceback are
indented, so nothing in a name can forge a record or reach the terminal as an escape sequence. JSON encodes
them (and :func:`~scheduler.safe_text.json_safe` the C1 and bidi controls JSON leaves alone).

:class:`RedactSecrets` is a filter on every handler: it renders the message with its arguments, the traceback
and any extra text field, and masks every configured secret value in them (:mod:`scheduler.config.redact`),
whatever logger the record came from (httpx logs URLs, and a Telegram URL holds the bot token).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from scheduler.config.redact import Redactor
from scheduler.config.settings import Settings
from scheduler.safe_text import json_safe, shown

STANDARD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)
"""Attributes every LogRecord has; anything else on a record came from ``extra``."""

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class RedactSecrets(logging.Filter):
    """Masks secret values in every record that passes (message, arguments, traceback, extra strings).

    The record is rendered here (``record.msg`` becomes the final text, ``record.args`` empty), so formatters
    see only masked text. ``redactor`` can be replaced when the config is reloaded.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or Redactor()

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor
        if not redact:
            return True
        _capture_delivery(record)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: show what there is, masked
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


def _capture_delivery(record: logging.LogRecord) -> None:
    """Copy the fields of a DeliveryLabel argument onto the record (before the arguments are rendered)."""
    if getattr(record, "delivery_id", None) is not None:
        return
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        if all(hasattr(arg, name) for name in ("delivery_id", "channel", "source")) and isinstance(arg, str):
            record.delivery_id = arg.delivery_id  # type: ignore[attr-defined]
            record.channel = arg.channel  # type: ignore[attr-defined]
            record.source = arg.source  # type: ignore[attr-defined]
            return


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT`` with the message on one line, its control characters escaped; a traceback or stack
    follows on lines indented by two spaces (escaped too), so every record starts a line of its own."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = shown(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for extra in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if extra:
                text += "".join(f"\n  {shown(line)}" for line in extra.split("\n"))
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``event``, ``message``, the delivery's
    ``delivery_id``, ``channel`` and ``source`` when the line is about one, any other ``extra`` field, and
    ``exc`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        _capture_delivery(record)
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and key not in data:
                data[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = record.stack_info
        return json_safe(json.dumps(data, ensure_ascii=False, default=str))


def configure(level: str, fmt: LogFormat, *, stream: TextIO | None = None) -> RedactSecrets:
    """Log at ``level`` (``"INFO"``, ...) to ``stream`` (stderr) in ``fmt``; returns the secrets filter
    (give it the secrets with :func:`redact_secrets_of`). APScheduler and httpx only say more at DEBUG."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt is LogFormat.json else TextFormatter())
    redact = RedactSecrets()
    handler.addFilter(redact)
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    if level.upper() != "DEBUG":
        for noisy in ("apscheduler", "httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    return redact


def redact_secrets_of(settings: Settings) -> None:
    """Mask the secrets of ``settings`` in everything the root logger's handlers write from now on (at start
    and after every config reload; a handler without the filter gets one)."""
    redactor = Redactor.from_settings(settings)
    for handler in logging.getLogger().handlers:
        filters = [f for f in handler.filters if isinstance(f, RedactSecrets)]
        if filters:
            for existing in filters:
                existing.redactor = redactor
        else:
            handler.addFilter(RedactSecrets(redactor))
