"""Find the line of a key in a TOML text, so that errors can say ``config/tagcast.toml:12``."""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r'("(?:[^"\\]|\\.)*")|\'([^\']*)\'|([A-Za-z0-9_\-]+)', text)
    return [_unquote(quoted) if quoted else literal or bare for quoted, literal, bare in parts]


def _unquote(quoted: str) -> str:
    """A TOML basic string key (``"a\\u001bb"``) as the name it stands for."""
    try:
        return str(tomllib.loads(f"k = {quoted}")["k"])
    except tomllib.TOMLDecodeError:
        return quoted[1:-1]


def toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map every table and key path in ``text`` to its 1-based line; arrays of tables get their index, and so
    do the items of an array value (``("schedules", "daily", "slots", "1")`` is the line of its second
    item)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    array_counts: dict[tuple[str, ...], int] = {}
    starts = _line_starts(text)
    number = 1
    while number <= len(starts):
        offset = starts[number - 1]
        line = text[offset : starts[number] - 1] if number < len(starts) else text[offset:]
        header = _HEADER.match(line)
        key = None if header else _KEY.match(line)
        if header:
            path = tuple(_split_key(header.group(2)))
            for size in range(1, len(path) + 1):  # [a.b.c] also writes the tables a and a.b
                lines.setdefault(path[:size], number)
            if header.group(1) == "[[":
                index = array_counts.get(path, -1) + 1
                array_counts[path] = index
                table = (*path, str(index))
            else:
                table = path
            lines.setdefault(table, number)
        elif key:
            path = (*table, *_split_key(key.group(1)))
            lines.setdefault(path, number)
            items: dict[tuple[str, ...], int] = {}
            end = _ValueScanner(text, items).value(offset + key.end(), path)
            for item, at in items.items():
                lines.setdefault(item, bisect.bisect_right(starts, at))
            number = max(number, bisect.bisect_right(starts, max(end - 1, offset)))
        number += 1
    return lines


def _line_starts(text: str) -> list[int]:
    return [0, *(match.end() for match in re.finditer(r"\n", text) if match.end() < len(text))]


class _ValueScanner:
    """Walks one TOML value from an offset (strings, comments, nested arrays and inline tables) and records
    the offset of each array item under its path. Lenient: on text that is not TOML it stops, never raises."""

    def __init__(self, text: str, items: dict[tuple[str, ...], int]) -> None:
        self.text = text
        self.items = items

    def value(self, at: int, path: tuple[str, ...]) -> int:
        text = self.text
        at = self._blank(at, newlines=False)
        if at >= len(text):
            return at
        if text.startswith(('"""', "'''"), at):
            return self._multiline(at)
        if text[at] in "\"'":
            return self._string(at)
        if text[at] == "[":
            return self._array(at, path)
        if text[at] == "{":
            return self._inline_table(at)
        while at < len(text) and text[at] not in ",]}#\n":
            at += 1
        return at

    def _string(self, at: int) -> int:
        text, quote = self.text, self.text[at]
        at += 1
        while at < len(text) and text[at] not in (quote, "\n"):
            at += 2 if quote == '"' and text[at] == "\\" else 1
        return min(at + 1, len(text))

    def _multiline(self, at: int) -> int:
        text, quote = self.text, self.text[at : at + 3]
        at += 3
        while at < len(text) and not text.startswith(quote, at):
            at += 2 if quote == '"""' and text[at] == "\\" else 1
        at += 3
        while at < len(text) and text[at] == quote[0]:  # up to two quotes may end the content
            at += 1
        return min(at, len(text))

    def _blank(self, at: int, *, newlines: bool = True) -> int:
        text = self.text
        while at < len(text):
            if text[at] in " \t\r" or (newlines and text[at] == "\n"):
                at += 1
            elif newlines and text[at] == "#":
                at = text.find("\n", at)
                at = len(text) if at < 0 else at
            else:
                break
        return at

    def _array(self, at: int, path: tuple[str, ...]) -> int:
        text = self.text
        at += 1
        index = 0
        while True:
            at = self._blank(at)
            if at >= len(text) or text[at] == "]":
                return min(at + 1, len(text))
            self.items.setdefault((*path, str(index)), at)
            after = self.value(at, (*path, str(index)))
            at = self._blank(max(after, at + 1))
            index += 1
            if at < len(text) and text[at] == ",":
                at += 1

    def _inline_table(self, at: int) -> int:
        text = self.text
        at += 1
        while at < len(text) and text[at] != "}":
            if text[at] in "\"'":
                at = self._string(at)
            elif text[at] in "[{":
                nested = _ValueScanner(text, {})  # items inside an inline table are not located
                at = nested.value(at, ())
            else:
                at += 1
        return min(at + 1, len(text))


def find_line(lines: dict[tuple[str, ...], int], path: Sequence[str | int]) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is written in the file."""
    parts = tuple(str(p) for p in path)
    while parts:
        if parts in lines:
            return lines[parts]
        parts = parts[:-1]
    return None
