"""JSON articles: one object, or a list of objects (sources ``file.json#0``, ``file.json#1``, ...).

The keys are those of Markdown front matter, plus the text under ``body`` (or ``summary`` or ``text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from scheduler.articles.fields import ArticleOptions, ArticleProblems, RawArticle, build_article
from scheduler.articles.values import BadValue, check_text
from scheduler.errors import ArticleError
from scheduler.models import Article

BODY_KEYS = ("body", "summary", "text")
MAX_BODY_CHARS = 256 * 1024
"""The longest text of one article in a JSON file (as for a Markdown or plain-text file)."""

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')
_DECODE_HINTS = (
    ("Expecting ',' delimiter", "add the missing comma between two items"),
    ("Expecting property name", 'put keys in double quotes and remove any comma just before "}"'),
    ("Expecting value", 'remove the comma just before "]" or "}", or add the missing value'),
    ("Invalid control character", "write a line break inside a string as \\n"),
    ("Extra data", "put several articles in one list: [{...}, {...}]"),
)
_OBJECT_HINT = 'write {"title": ..., "body": ...}'
_DECODE_HINT = "check the JSON syntax on that line (double quotes, commas, brackets)"


@dataclass(slots=True)
class _Entry:
    line: int
    key_lines: dict[str, int] = field(default_factory=dict)


def load_json(text: str, *, source: str, options: ArticleOptions) -> tuple[list[Article], list[ArticleError]]:
    """The article(s) of one JSON file and a problem for each item that cannot be read (the other items
    still load); ``source`` names the file in errors and on the articles."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = next((hint for needle, hint in _DECODE_HINTS if exc.msg.startswith(needle)), _DECODE_HINT)
        raise ArticleError(
            source, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno, hint=hint
        ) from None
    except RecursionError:
        raise ArticleError(
            source,
            "invalid JSON: nested too deeply",
            line=1,
            hint="nest lists and objects a few levels at most",
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ArticleError(
            source, f"invalid JSON: {exc}", line=1, hint='write a long number as text, in quotes: "..."'
        ) from None
    entries = _entries(text)
    if isinstance(data, dict):
        return [_article(data, entries[0], source=source, file=source, label="", options=options)], []
    if not isinstance(data, list):
        raise ArticleError(source, "expected an article object or a list of them", line=1, hint=_OBJECT_HINT)
    articles: list[Article] = []
    errors: list[ArticleError] = []
    for index, (item, entry) in enumerate(zip(data, entries, strict=True)):
        name = f"{source}#{index}"
        try:
            articles.append(_article(item, entry, source=name, file=source, label=name, options=options))
        except ArticleProblems as problems:
            errors.extend(problems.problems)
        except ArticleError as error:
            errors.append(error)
    return articles, errors


def _article(
    item: Any, entry: _Entry, *, source: str, file: str, label: str, options: ArticleOptions
) -> Article:
    prefix = f"{label}: " if label else ""
    if not isinstance(item, dict):
        raise ArticleError(file, f"{prefix}expected an article object", line=entry.line, hint=_OBJECT_HINT)
    body_key = next((key for key in BODY_KEYS if key in item), None)
    if body_key is None:
        raise ArticleError(
            file, f"{prefix}the article has no text", line=entry.line, hint='add "body": "..." to it'
        )
    body = item[body_key]
    try:
        check_text(body if isinstance(body, str) else "")
    except BadValue as exc:
        line = entry.key_lines.get(body_key, entry.line)
        raise ArticleError(file, f"{prefix}{body_key}: {exc.message}", line=line, hint=exc.hint) from None
    if isinstance(body, str) and len(body) > MAX_BODY_CHARS:
        raise ArticleError(
            file,
            f"{prefix}{body_key}: the text is longer than {MAX_BODY_CHARS:,} characters",
            line=entry.key_lines.get(body_key, entry.line),
            hint="an article is a summary to post: shorten it",
        )
    if not isinstance(body, str):
        raise ArticleError(
            file,
            f"{prefix}{body_key}: expected text",
            line=entry.key_lines.get(body_key, entry.line),
            hint=f'write "{body_key}": "..." (line breaks as \\n)',
        )
    values = {key: value for key, value in item.items() if key != body_key}
    raw = RawArticle(
        source=source,
        file=file,
        values=values,
        key_lines=entry.key_lines,
        start_line=entry.line,
        body=body,
        syntax="json",
        label=label,
        also_known=frozenset(BODY_KEYS),
    )
    return build_article(raw, options)


def _entries(text: str) -> list[_Entry]:
    """Where each article of a valid JSON document starts, and the line of each of its keys (and of each
    item of its ``images`` list, as ``images#1``, ``images#2``, ..., as front matter gives them)."""
    entries: list[_Entry] = []
    stack: list[str] = []
    top_is_list: bool | None = None
    line, counted_to = 1, 0
    previous: tuple[str, int] | None = None
    key: str | None = None  # the article's key whose value comes next
    images_depth, images_seen = 0, 0  # the depth inside the article's images list, and its items so far
    for match in _TOKEN.finditer(text):
        token = match.group()
        line += text.count("\n", counted_to, match.start())
        counted_to = match.start()
        if top_is_list is None:
            top_is_list = token == "["
        if (not stack and not top_is_list) or (stack == ["["] and top_is_list and token not in {",", "]"}):
            entries.append(_Entry(line))
        article_depth = 2 if top_is_list else 1
        if images_depth and len(stack) == images_depth and token not in {",", "]"}:
            images_seen += 1
            entries[-1].key_lines[f"images#{images_seen}"] = line
        if token in {"{", "["}:
            stack.append(token)
            if token == "[" and key == "images" and len(stack) == article_depth + 1:
                images_depth, images_seen = len(stack), 0
        elif token in {"}", "]"}:
            stack.pop()
            if len(stack) < images_depth:
                images_depth = 0
        elif token == ":" and previous and len(stack) == article_depth and stack[-1] == "{":
            key = json.loads(previous[0])
            entries[-1].key_lines[key] = previous[1]
            previous = token, line
            continue
        key = None
        previous = token, line
    return entries
