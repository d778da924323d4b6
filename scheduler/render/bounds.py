"""How big a value is, or an operation's result would be, before it is built: the sandbox's size checks.

Each estimate is an upper bound computed from the operands (widths, counts, lengths), never by building the
result, so ``"a".center(10 ** 9)`` is refused without allocating a gigabyte.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2.utils import Cycler, Namespace

from scheduler.models import Hashtag

_CONTAINERS = (list, tuple, set, frozenset, dict)
_DIGITS = re.compile(r"\d+")
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)


def weight(value: Any, cap: int) -> int:
    """Characters and items in ``value``, its containers walked (shared ones counted each time they occur,
    as printing them would), numbers by their digits and other objects by their ``repr``; stops counting once
    past ``cap``."""
    total = 0
    pending = [value]
    while pending and total <= cap:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, _CONTAINERS):
            total += 1
            pending.extend(item)
        elif isinstance(item, Namespace):
            total += 1
            pending.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Cycler):
            total += 1
            pending.extend(item.items)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1  # at least its decimal digits
        elif item is None or isinstance(item, float):
            total += 1
        elif type(item) is Hashtag:
            total += _tag_repr_length(item)  # every render of a post weighs its tags again
        else:
            total += len(repr(item))  # an object from the context (an article, a tag) prints as its repr
    return total


@lru_cache(maxsize=1024)
def _tag_repr_length(tag: Hashtag) -> int:
    return len(repr(tag))


def sized(value: Any) -> int:
    """The length of a string, bytes or container result (what an operation built), else 0."""
    if isinstance(value, (str, bytes, *_CONTAINERS)):
        return len(value)
    return 0


def widest_in_spec(spec: str) -> int:
    """The largest number in a ``format()`` spec (``">999999999"``, ``".500f"``): a bound on the width and
    the precision it asks for."""
    return max((int(run) for run in _DIGITS.findall(spec)), default=0)


def percent_size(template: str, args: Any, cap: int) -> int:
    """An upper bound on the length of ``template % args``: the template, each conversion's width and
    precision (a ``*`` takes the largest integer among the arguments), and the arguments' own size."""
    star = 0
    values = args if isinstance(args, tuple) else (args,)
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            star = max(star, abs(value))
    size = len(template) + weight(args, cap)
    for match in _PERCENT_SPEC.finditer(template):
        for number in (match.group(1), match.group(2)):
            if number == "*":
                size += star
            elif number:
                size += int(number)
    return size


def method_size(owner: str | bytes, name: str, args: tuple[Any, ...], cap: int) -> int | None:
    """An upper bound on the length of ``owner.<name>(*args)`` for the str and bytes methods whose result can
    outgrow their operands; None for the others (their result is no bigger than the operands)."""
    length = len(owner)
    number = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill") and isinstance(number, int):
        return max(length, number)
    if name == "expandtabs":
        tab = b"\t" if isinstance(owner, bytes) else "\t"
        size = number if isinstance(number, int) else 8
        return length + owner.count(tab) * max(size, 0)  # type: ignore[arg-type]
    if name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
            return None
        times = length + 1 if not old else owner.count(old)  # type: ignore[arg-type]
        if len(args) >= 3 and isinstance(args[2], int) and args[2] >= 0:
            times = min(times, args[2])
        return length + times * max(len(new) - len(old), 0)
    if name == "translate" and isinstance(number, Mapping):
        longest = max((weight(value, cap) for value in number.values()), default=1)
        return length * max(longest, 1)
    return None


def join_size(separator: str | bytes, items: Iterable[Any], cap: int) -> int:
    """An upper bound on the length of ``separator.join(items)`` (``items`` already a list)."""
    parts = list(items)
    size = len(separator) * max(len(parts) - 1, 0)
    for part in parts:
        size += weight(part, cap)
        if size > cap:
            break
    return size


def depth(value: Any, cap: int) -> int:
    """How deeply containers nest in ``value`` (0 for a plain value), walking at most ``cap`` items."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    seen = 0
    while pending and seen <= cap:
        item, level = pending.pop()
        seen += 1
        if isinstance(item, dict):
            pending.extend((child, level + 1) for child in item.values())
            deepest = max(deepest, level + 1)
        elif isinstance(item, _CONTAINERS):
            pending.extend((child, level + 1) for child in item)
            deepest = max(deepest, level + 1)
    return deepest


def _text(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else 32


def _number(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _materialize(args: list[Any], index: int) -> list[Any]:
    """Turn ``args[index]`` (any iterable) into a list, in place, so that estimating does not consume it."""
    if index < len(args) and not isinstance(args[index], str | bytes | list | tuple | dict):
        args[index] = list(args[index])
    return args[index] if index < len(args) else []


def _center(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    width = _number(args[1] if len(args) > 1 else kwargs.get("width"), 80)
    return max(_text(args[0]), width)


def _indent(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    width = args[1] if len(args) > 1 else kwargs.get("width", 4)
    step = len(width) if isinstance(width, str) else _number(width, 4)
    text = args[0] if isinstance(args[0], str) else ""
    return len(text) + (text.count("\n") + 1) * max(step, 0)


def _wordwrap(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    width = _number(args[1] if len(args) > 1 else kwargs.get("width"), 79)
    wrap = args[3] if len(args) > 3 else kwargs.get("wrapstring")
    text = _text(args[0])
    return max(width, text * (1 + (len(wrap) if isinstance(wrap, str) else 1)))


def _format(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    template = args[0] if isinstance(args[0], str) else ""
    return percent_size(template, kwargs or tuple(args[1:]), cap)


def _replace(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    owner = args[0] if isinstance(args[0], str) else str(args[0])[:cap]
    rest = [*args[1:], *(kwargs[key] for key in ("old", "new", "count") if key in kwargs)]
    return method_size(owner, "replace", tuple(rest), cap) or len(owner)


def _join(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    items = _materialize(args, 0)
    separator = args[1] if len(args) > 1 else kwargs.get("d", "")
    return join_size(separator if isinstance(separator, str) else "", items, cap)


def _sum(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    items = _materialize(args, 0)
    start = args[2] if len(args) > 2 else kwargs.get("start", 0)
    return weight(items, cap) + weight(start, cap)


def _fill(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    count = _number(args[1] if len(args) > 1 else kwargs.get("linecount", kwargs.get("slices")), 0)
    return max(count, 0)


def _tojson(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    indent = args[1] if len(args) > 1 else kwargs.get("indent")
    step = len(indent) if isinstance(indent, str) else _number(indent, 0)
    value = args[0]
    return weight(value, cap) * (8 + max(step, 0) * depth(value, cap))


def _pprint(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    return weight(args[0], cap) * (8 + depth(args[0], cap))


def _hashtags(args: list[Any], kwargs: dict[str, Any], cap: int) -> int:
    tags = _materialize(args, 0)
    separator = args[3] if len(args) > 3 else kwargs.get("sep", " ")
    return join_size(separator if isinstance(separator, str) else " ", tags, cap) + len(tags)


def lipsum_size(n: Any, maximum: Any) -> int:
    """An upper bound on the length of ``lipsum(n, max=maximum)`` (words of at most 12 characters)."""
    return max(_number(n, 5), 0) * max(_number(maximum, 100), 0) * 12


Estimate = Callable[[list[Any], dict[str, Any], int], int]
"""``(args, kwargs, cap) -> size``; ``args`` as the filter gets them (after any context or environment); an
estimate may turn an iterable argument into a list in place, so that counting does not consume it."""

FILTER_SIZES: dict[str, Estimate] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "format": _format,
    "replace": _replace,
    "join": _join,
    "sum": _sum,
    "batch": _fill,
    "slice": _fill,
    "tojson": _tojson,
    "pprint": _pprint,
    "hashtags": _hashtags,
}
"""Filters whose result can outgrow their input, and an upper bound on its size, computed before they run."""
