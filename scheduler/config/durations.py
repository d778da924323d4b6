"""Durations as people write them in config files: ``"90s"``, ``"30m"``, ``"1h30m"``, ``"2d"``, or seconds."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

# Starts only where a number starts: tried again at every digit of "111...1!", it was quadratic.
_PART = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE | re.ASCII)
_SECONDS = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
MAX_DURATION = timedelta(days=3650)
"""The longest duration a config key takes: ten years (a longer one is surely a typo, and would overflow
date arithmetic)."""
_FORMS = "write it like '90s', '30m', '1h30m' or '2d' (a plain number is seconds)"


def parse_duration(value: Any) -> Any:
    """Turn ``"1h30m"`` into a timedelta; numbers (also as text, from the environment) are seconds; anything
    else is left to pydantic to refuse. Raises ValueError for a negative, infinite or absurdly long one."""
    if isinstance(value, timedelta):
        return _bounded(value, value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _bounded(value, _seconds(value, value))
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text in ("", "0"):
            return timedelta(0)
        if _SECONDS.fullmatch(text):
            return _bounded(value, _seconds(float(text), value))
        if _PART.sub("", text) == "" and _PART.search(text):
            seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _PART.findall(text))
            return _bounded(value, _seconds(seconds, value))
        raise ValueError(f"{_shown(value)} is not a duration; {_FORMS}")
    return value


def _seconds(seconds: float, value: Any) -> timedelta:
    if math.isnan(seconds):
        raise ValueError(f"{_shown(value)} is not a number of seconds; {_FORMS}")
    if abs(seconds) > MAX_DURATION.total_seconds():
        raise ValueError(f"{_shown(value)} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


def _bounded(value: Any, duration: timedelta) -> timedelta:
    if duration < timedelta(0):
        raise ValueError(f"{_shown(value)} is negative; {_FORMS}")
    if duration > MAX_DURATION:
        raise ValueError(f"{_shown(value)} is longer than {MAX_DURATION.days} days")
    return duration


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
