"""Bulk import: rows of a CSV, JSON or JSON Lines file -> one Markdown article each in ``posts/``.

Why files and not rows in the queue: an imported article is then like any other (in git, editable,
previewed, routed and queued by the very same path as the rest of ``posts/``), and a second import of the same
file writes the same files, so it changes nothing. Each row is checked as an article
(:func:`~scheduler.articles.fields.build_article`), written, and read back; a bad row is reported with its
row number and the good rows still go in::

    report = import_rows(Path("catalogue.csv"), into=Path("posts/imported"), mapping={"title": "Headline"})
    report.counts()            # {'new': 1998, 'unchanged': 0, 'updated': 0}
    report.errors              # [ArticleError('catalogue.csv:17: url: ...'), ...]

Columns are article keys (``title``, ``url``, ``tags``, ``published``, ``publish_at``, ``body``/``summary``/
``text``, and any other key, available to templates); ``mapping`` renames: article key -> column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scheduler.articles import load_article_file
from scheduler.articles.fields import ArticleOptions, RawArticle, build_article
from scheduler.articles.jsonfile import BODY_KEYS
from scheduler.config.atomic import atomic_write_text
from scheduler.errors import ArticleError, UserError

FORMATS = ("csv", "json", "jsonl")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Row:
    """One row: its 1-based number (the line in CSV and JSON Lines, the item in a JSON list), its values."""

    number: int
    values: Mapping[str, Any]
    line: int | None = None


@dataclass
class ImportReport:
    """Where each good row went (path -> ``new`` / ``updated`` / ``unchanged``) and one error per bad row."""

    written: dict[Path, str] = field(default_factory=dict)
    errors: list[ArticleError] = field(default_factory=list)
    rows: int = 0

    def counts(self) -> dict[str, int]:
        found = {"new": 0, "updated": 0, "unchanged": 0}
        for outcome in self.written.values():
            found[outcome] += 1
        return found


def format_of(path: Path, given: str | None) -> str:
    wanted = (given or path.suffix.lstrip(".")).lower()
    wanted = {"ndjson": "jsonl", "jsonlines": "jsonl"}.get(wanted, wanted)
    if wanted not in FORMATS:
        raise UserError(
            f"{path}: cannot tell the format from its name",
            hint="name it *.csv, *.json or *.jsonl, or pass --format csv|json|jsonl",
        )
    return wanted


def read_rows(path: Path, kind: str, *, label: str) -> Iterator[Row | ArticleError]:
    """The rows of ``path``; a row that cannot be read at all is an :class:`ArticleError` in their place."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"cannot read {path}: {exc}", hint="give a UTF-8 CSV, JSON or JSON Lines file"
        ) from None
    if kind == "csv":
        reader = csv.DictReader(io.StringIO(text, newline=""))
        start = 2
        for record in reader:
            if None in record:
                yield ArticleError(
                    label, "more cells than columns", line=start, hint="quote cells with commas"
                )
            else:
                yield Row(
                    start, {key: value for key, value in record.items() if value not in ("", None)}, start
                )
            start = reader.line_num + 1
    elif kind == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            yield _json_row(line, number, label)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(
                f"{label}:{exc.lineno}: invalid JSON: {exc.msg}", hint="one JSON list of objects"
            ) from None
        if not isinstance(data, list):
            raise UserError(f"{label}: expected a JSON list of objects", hint="[{...}, {...}]")
        for number, item in enumerate(data, start=1):
            if isinstance(item, dict):
                yield Row(number, item)
            else:
                yield ArticleError(label, f"row {number}: expected an object", hint='{"title": ...}')


def _json_row(line: str, number: int, label: str) -> Row | ArticleError:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return ArticleError(label, f"invalid JSON: {exc.msg}", line=number, hint="one JSON object per line")
    if not isinstance(item, dict):
        return ArticleError(label, "expected a JSON object", line=number, hint='{"title": ...}')
    return Row(number, item, number)


def mapped(values: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Article key -> value: mapped columns under their article key, the other columns as they are."""
    used = set(mapping.values())
    out = {key: value for key, value in values.items() if key not in used}
    for key, column in mapping.items():
        if column in values:
            out[key] = values[column]
    return out


def row_name(values: Mapping[str, Any], number: int) -> str:
    """The file name of a row: stable across imports (from its id, else its url, else its title)."""
    key = next((str(values[k]) for k in ("id", "url", "title") if values.get(k)), f"row-{number}")
    title = str(values.get("title") or values.get("id") or "article")
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    slug = _SLUG.sub("-", ascii_title).strip("-")[:60].rstrip("-") or "article"
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.md"


def markdown_of(values: Mapping[str, Any]) -> tuple[str, str]:
    """(front matter and body as a Markdown article, the body)."""
    body_key = next((key for key in BODY_KEYS if key in values), None)
    body = str(values[body_key]) if body_key else ""
    front = {key: value for key, value in values.items() if key != body_key}
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{dumped}---\n{body.strip()}\n", body


def import_rows(
    path: Path,
    *,
    into: Path,
    root: Path,
    mapping: Mapping[str, str] = {},
    kind: str | None = None,
    progress: Callable[[int], None] = lambda done: None,
) -> ImportReport:
    """Import every row of ``path`` into the folder ``into`` (see the module docstring)."""
    label = path.name
    report = ImportReport()
    into.mkdir(parents=True, exist_ok=True)
    for item in read_rows(path, format_of(path, kind), label=label):
        report.rows += 1
        progress(report.rows)
        if isinstance(item, ArticleError):
            report.errors.append(item)
            continue
        try:
            target, outcome = _import_row(item, label=label, into=into, root=root, mapping=mapping)
        except ArticleError as error:
            report.errors.append(error)
            continue
        report.written[target] = outcome
    return report


def _import_row(
    row: Row, *, label: str, into: Path, root: Path, mapping: Mapping[str, str]
) -> tuple[Path, str]:
    values = mapped(row.values, mapping)
    text, body = markdown_of(values)
    raw = RawArticle(
        source=label,
        file=label,
        values={key: value for key, value in values.items() if key not in BODY_KEYS},
        key_lines={},
        start_line=row.line or 1,
        body=body,
    )
    try:
        build_article(raw, ArticleOptions())
    except ArticleError as error:
        where = f"{error.source}:{error.line}: " if error.line else f"{error.source}: "
        message = error.message.removeprefix(where)
        prefix = "" if row.line else f"row {row.number}: "
        raise ArticleError(label, prefix + message, hint=error.hint, line=row.line) from None
    target = into / row_name(values, row.number)
    before = target.read_text(encoding="utf-8") if target.exists() else None
    if before == text:
        return target, "unchanged"
    atomic_write_text(target, text)
    try:
        load_article_file(target, root=root)
    except ArticleError as error:
        if before is None:
            target.unlink()
        else:
            atomic_write_text(target, before)
        prefix = "" if row.line else f"row {row.number}: "
        raise ArticleError(
            label, f"{prefix}does not read back as an article: {error}", line=row.line
        ) from None
    return target, "new" if before is None else "updated"
