"""Check that a value read from an article is plain data that every later stage can handle.

Front matter and JSON can hold anything their syntax allows: a list that contains itself (``&a [*a]``), a
mapping nested ten thousand levels deep, aliases that expand to a billion items, a number of 4,000 digits,
``.nan``, ``!!binary`` bytes, a date in the year 9999 with an offset that cannot be turned into UTC. Templates
print these, the store saves them as JSON, the planner adds time to dates. :func:`plain_value` accepts text,
true/false, whole numbers of at most 18 digits, finite numbers, dates and times that can be converted, and
lists and mappings of those (at most :data:`MAX_DEPTH` deep and :data:`MAX_ITEMS` items in all); anything
else raises :class:`BadValue` with words for the user.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_DEPTH = 20
MAX_ITEMS = 10_000
MAX_INT = 10**18
MIN_YEAR, MAX_YEAR = 2, 9998
"""Dates outside these years cannot have a day added or taken away."""


class BadValue(ValueError):
    """A value that is not plain data; ``hint`` says how to write it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


QUOTE_HINT = 'put it in quotes, "...", to keep it as text'


def shown(value: Any, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, for messages (a value may be megabytes long)."""
    if isinstance(value, str):
        text = repr(value[: width + 1])
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
        return f"a number of {_digits(value)} digits"
    else:
        try:
            text = repr(value)
        except (ValueError, RecursionError):
            return f"a {type(value).__name__}"
    return text if len(text) <= width else text[: width - 3] + "..."


def _digits(value: int) -> str:
    return str(len(str(abs(value)))) if abs(value) < 10**4000 else "more than 4000"


def plain_value(value: Any) -> Any:
    """``value`` as plain data (tuples become lists, mapping keys text), or :class:`BadValue`."""
    return _Walk().plain(value, 0)


class _Walk:
    def __init__(self) -> None:
        self.items = 0

    def plain(self, value: Any, depth: int) -> Any:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise BadValue(
                f"holds more than {MAX_ITEMS:,} items (YAML aliases can repeat a list many times)",
                "keep lists and mappings small; write repeated values out instead of using * aliases",
            )
        if isinstance(value, str):
            check_text(value)
            return value
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            check_int(value)
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                raise BadValue(f"{value} is not a number a post can show", QUOTE_HINT)
            return value
        if isinstance(value, datetime | date):
            check_moment(value)
            return value
        if isinstance(value, list | tuple | dict):
            if depth >= MAX_DEPTH:
                raise BadValue(
                    f"lists or mappings nested more than {MAX_DEPTH} levels deep (or one that holds itself)",
                    "nest lists and mappings at most a few levels deep",
                )
            if isinstance(value, dict):
                return {
                    key_text(self.plain(key, depth + 1)): self.plain(v, depth + 1) for key, v in value.items()
                }
            return [self.plain(item, depth + 1) for item in value]
        kinds: dict[type, str] = {bytes: "binary data (!!binary)", set: "a set (!!set)"}
        kind = kinds.get(type(value), type(value).__name__)
        raise BadValue(f"{kind} is not supported", "write text, a number, a date, a list or a mapping")


def key_text(key: Any) -> str:
    """A mapping key as text (YAML keys may be numbers, dates, true/false or null)."""
    if isinstance(key, int) and not isinstance(key, bool):
        check_int(key)
    text = key if isinstance(key, str) else str(key)
    check_text(text)
    return text


def check_text(text: str) -> None:
    """Text that can be stored and sent: no lone surrogate (JSON's ``"\\ud800"``), which UTF-8 cannot hold,
    and no NUL character, which PostgreSQL cannot store."""
    if "\x00" in text:
        raise BadValue("holds a NUL character (\\0)", "remove it (a damaged file may need saving again)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadValue(
            f"holds {shown(text[exc.start])}, half of a UTF-16 pair, which no text can carry",
            "write the character itself, or both halves of its \\u escape (e.g. \\ud83d\\ude00)",
        ) from None


def check_int(value: int) -> None:
    if abs(value) >= MAX_INT:
        raise BadValue(f"a number of {_digits(value)} digits is too large", QUOTE_HINT)


def check_moment(value: date) -> None:
    """A date, or a date and time, that can be converted to UTC and moved by a day either way."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadValue(
            f"the year {value.year} is out of range",
            f"write a year between {MIN_YEAR} and {MAX_YEAR}",
        )
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC) + timedelta(days=1)
        except (OverflowError, ValueError) as exc:
            raise BadValue(
                f"{value.isoformat()} cannot be converted to UTC ({exc})", "check the date"
            ) from None
