"""Durations as people write them in config files: ``"90s"``, ``"30m"``, ``"1h30m"``, ``"2d"``, or seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# Starts only where a number starts: tried again at every digit of "111...1!", it was quadratic.
_PART = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(value: Any) -> Any:
    """Turn ``"1h30m"`` into a timedelta; numbers are seconds; anything else is left to pydantic to refuse."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text in ("", "0"):
            return timedelta(0)
        if _PART.sub("", text) == "" and _PART.search(text):
            seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
            return timedelta(seconds=seconds)
        raise ValueError(f"{value!r} is not a duration; write it like '90s', '30m', '1h30m' or '2d'")
    return value


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: ``timedelta(minutes=90)`` -> ``"1h30m"``."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
