"""Load articles from files: Markdown with YAML front matter, JSON, and the site's plain-text format.

    >>> result = load_articles([Path("posts")], root=Path("."))        # doctest: +SKIP
    >>> [article.source for article in result.articles]                  # doctest: +SKIP
    ['posts/antikythera-mechanism.md', 'posts/dunkirk-little-ships.txt', ..., 'posts/science-shorts.json#1']

A broken article gives an :class:`ArticleError` (file, line, hint) in ``errors`` for each of its problems;
the other articles (other files, the good items of a JSON list) still load. Nothing in a file raises anything
else.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from scheduler.articles.feed import MAX_FEED_BYTES, load_feed, looks_like_feed
from scheduler.articles.fields import ArticleOptions, ArticleProblems
from scheduler.articles.jsonfile import load_json
from scheduler.articles.plaintext import load_plaintext
from scheduler.errors import ArticleError
from scheduler.models import Article

__all__ = [
    "ARTICLE_SUFFIXES",
    "ArticleOptions",
    "LoadResult",
    "find_article_files",
    "load_article_file",
    "load_articles",
]


def load_markdown(text: str, *, source: str, options: ArticleOptions) -> Article:
    """:func:`scheduler.articles.markdown.load_markdown`, imported with markdown-it and PyYAML on first use
    (a preview of a feed needs neither)."""
    from scheduler.articles.markdown import load_markdown as load  # noqa: PLC0415

    return load(text, source=source, options=options)


_Loader = Callable[..., Article | tuple[list[Article], list[ArticleError]]]
_LOADERS: dict[str, _Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_plaintext,
    ".json": load_json,
}
ARTICLE_SUFFIXES = frozenset(_LOADERS)
"""The file endings read as articles when a folder is loaded."""

MAX_ARTICLE_BYTES = 256 * 1024
"""The largest Markdown or plain-text article file (a summary to post, not a book: parsing stays fast)."""
MAX_LIST_BYTES = 16 * 1024 * 1024
"""The largest JSON file; each article in it is held to :data:`MAX_ARTICLE_BYTES` of text."""

_SKIPPED_STEMS = frozenset({"readme"})


@dataclass
class LoadResult:
    """The articles that loaded, in file order, and every problem of the articles that did not."""

    articles: list[Article] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)


def source_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, or absolute when it lies outside ``root``."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return absolute.as_posix()


def find_article_files(folder: Path) -> list[Path]:
    """Article files under ``folder``, recursively and sorted, without hidden files or folders and READMEs."""
    found: list[Path] = []
    for directory, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        found.extend(
            Path(directory, name)
            for name in files
            if not name.startswith(".")
            and Path(name).suffix.lower() in ARTICLE_SUFFIXES
            and Path(name).stem.lower() not in _SKIPPED_STEMS
        )
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def load_article_file(
    path: Path,
    *,
    root: Path,
    aliases: Mapping[str, str] = {},
    blocklist: Iterable[str] = (),
    timezone: tzinfo = UTC,
    now: datetime | None = None,
    channels: Collection[str] | None = None,
) -> list[Article]:
    """The article(s) in one file; raises the first :class:`ArticleError` (file, line and a fix) of any."""
    options = ArticleOptions(aliases, blocklist, timezone, now or datetime.now(UTC), channels, root)
    articles, errors = read_article_file(path, root=root, options=options)
    if errors:
        raise errors[0]
    return articles


def read_article_file(
    path: Path, *, root: Path, options: ArticleOptions
) -> tuple[list[Article], list[ArticleError]]:
    """The articles that load from one file, and every problem of the others."""
    try:
        loaded = _load(path, root=root, options=options)
    except ArticleProblems as problems:
        return [], problems.problems
    except ArticleError as error:
        return [], [error]
    if isinstance(loaded, tuple):
        return loaded
    return [loaded], []


def _load(
    path: Path, *, root: Path, options: ArticleOptions
) -> Article | tuple[list[Article], list[ArticleError]]:
    source = source_name(path, root)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None or path.suffix.lower() == ".json":  # a feed, whatever its name (a JSON Feed in *.json)
        feed = _read_feed(path, source, options)
        if feed is not None:
            return feed
    if loader is None:
        raise ArticleError(
            source,
            f"unknown article format {path.suffix or '(no ending)'!r}",
            hint="name article files "
            + ", ".join(f"*{suffix}" for suffix in sorted(ARTICLE_SUFFIXES))
            + ", or give an RSS, Atom or JSON Feed file",
        )
    limit = MAX_LIST_BYTES if path.suffix.lower() == ".json" else MAX_ARTICLE_BYTES
    try:
        with path.open("rb") as file:
            data = file.read(limit + 1)
    except OSError as exc:
        raise ArticleError(
            source, f"cannot read the file: {exc.strerror}", hint="check the path and permissions"
        ) from None
    if len(data) > limit:
        raise ArticleError(
            source,
            f"the file is larger than {limit // 1024:,} KiB",
            hint="an article is a summary to post: shorten it, or split a JSON list into several files",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            source,
            f"not UTF-8 text (byte {exc.start})",
            line=data[: exc.start].count(b"\n") + 1,
            hint="save the file as UTF-8",
        ) from None
    return loader(text, source=source, options=options)


def _read_feed(
    path: Path, source: str, options: ArticleOptions
) -> tuple[list[Article], list[ArticleError]] | None:
    """The articles of ``path`` when it is an RSS, Atom or JSON Feed file (by its first bytes), else None."""
    try:
        with path.open("rb") as file:
            head = file.read(4096)
            if not looks_like_feed(head, partial=True):
                return None
            data = head + file.read(MAX_FEED_BYTES + 1 - len(head))
    except OSError as exc:
        raise ArticleError(
            source, f"cannot read the file: {exc.strerror}", hint="check the path and permissions"
        ) from None
    if len(data) > MAX_FEED_BYTES:
        raise ArticleError(source, f"the feed is larger than {MAX_FEED_BYTES // 1024:,} KiB")
    return load_feed(data, source=source, options=options)


def load_articles(
    paths: Iterable[Path],
    *,
    root: Path,
    aliases: Mapping[str, str] = {},
    blocklist: Iterable[str] = (),
    timezone: tzinfo = UTC,
    now: datetime | None = None,
    channels: Collection[str] | None = None,
) -> LoadResult:
    """Load every article file named in ``paths`` (files, or folders searched recursively).

    Each file is read once, even when named twice; a problem in one article never stops the others. A date
    or time written without an offset is in ``timezone``; ``publish_at: now`` is ``now`` (default: the
    clock); a name in an article's ``channels`` must be one of ``channels`` (when given).
    """
    options = ArticleOptions(aliases, blocklist, timezone, now or datetime.now(UTC), channels, root)
    result = LoadResult()
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            files = find_article_files(path)
        elif path.exists():
            files = [path]
        else:
            result.errors.append(
                ArticleError(source_name(path, root), "no such file or folder", hint="check the path")
            )
            continue
        for file in files:
            key = os.path.realpath(file)
            if key in seen:
                continue
            seen.add(key)
            articles, errors = read_article_file(file, root=root, options=options)
            result.articles.extend(articles)
            result.errors.extend(errors)
    return result
