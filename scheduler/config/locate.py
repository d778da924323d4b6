"""Find the line of a key in a TOML text, so that errors can say ``config/tagcast.toml:12``."""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([A-Za-z0-9_\-]+)', text)
    return [next(p for p in groups if p) if any(groups) else "" for groups in parts]


def toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table and key path in ``text`` to its 1-based line; arrays of tables get their index."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    array_counts: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            path = tuple(_split_key(header.group(2)))
            if header.group(1) == "[[":
                index = array_counts.get(path, -1) + 1
                array_counts[path] = index
                table = (*path, str(index))
            else:
                table = path
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_split_key(key.group(1))), number)
    return lines


def find_line(lines: dict[tuple[str, ...], int], path: Sequence[str | int]) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is written in the file."""
    parts = tuple(str(p) for p in path)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return None
