"""Load articles from files: Markdown with YAML front matter, JSON, and the site's plain-text format.

    >>> result = load_articles([Path("posts")], root=Path("."))        # doctest: +SKIP
    >>> [article.source for article in result.articles]                  # doctest: +SKIP
    ['posts/antikythera-mechanism.md', 'posts/dunkirk-little-ships.txt', ..., 'posts/science-shorts.json#1']

A broken file gives one :class:`ArticleError` (file, line, hint) in ``errors``; the other files still load.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.articles.feed import load_feed, looks_like_feed
from scheduler.articles.jsonfile import load_json
from scheduler.articles.markdown import load_markdown
from scheduler.articles.plaintext import load_plaintext
from scheduler.errors import ArticleError
from scheduler.models import Article

__all__ = [
    "ARTICLE_SUFFIXES",
    "LoadResult",
    "find_article_files",
    "load_article_file",
    "load_articles",
    "read_article_file",
]

_Loader = Callable[..., Article | list[Article]]
_LOADERS: dict[str, _Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_plaintext,
    ".json": load_json,
}
ARTICLE_SUFFIXES = frozenset(_LOADERS)
"""The file endings read as articles when a folder is loaded."""

_SKIPPED_STEMS = frozenset({"readme"})


@dataclass
class LoadResult:
    """The articles that loaded, in file order, and one error per file that did not."""

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
    path: Path, *, root: Path, aliases: Mapping[str, str] = {}, blocklist: Iterable[str] = ()
) -> list[Article]:
    """The article(s) in one file; raises :class:`ArticleError` naming the file, the line and a fix."""
    articles, errors = read_article_file(path, root=root, aliases=aliases, blocklist=blocklist)
    if errors:
        raise errors[0]
    return articles


def read_article_file(
    path: Path, *, root: Path, aliases: Mapping[str, str] = {}, blocklist: Iterable[str] = ()
) -> tuple[list[Article], list[ArticleError]]:
    """The article(s) in one file and the errors: one for a file that cannot be read, or one per bad entry
    of a feed (an RSS, Atom or JSON Feed file, recognised by its content whatever its name)."""
    source = source_name(path, root)
    loader = _LOADERS.get(path.suffix.lower())
    try:
        data = path.read_bytes()
    except OSError as exc:
        unreadable = ArticleError(
            source, f"cannot read the file: {exc.strerror}", hint="check the path and permissions"
        )
        return [], [unreadable]
    if looks_like_feed(data):
        try:
            return load_feed(data, source=source, aliases=aliases, blocklist=blocklist)
        except ArticleError as error:
            return [], [error]
    if loader is None:
        unknown = ArticleError(
            source,
            f"unknown article format {path.suffix or '(no ending)'!r}",
            hint="name article files "
            + ", ".join(f"*{suffix}" for suffix in sorted(ARTICLE_SUFFIXES))
            + ", or give an RSS, Atom or JSON Feed file",
        )
        return [], [unknown]
    try:
        return _decode_and_load(data, loader, source, aliases, blocklist), []
    except ArticleError as error:
        return [], [error]


def _decode_and_load(
    data: bytes, loader: _Loader, source: str, aliases: Mapping[str, str], blocklist: Iterable[str]
) -> list[Article]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            source,
            f"not UTF-8 text (byte {exc.start})",
            line=data[: exc.start].count(b"\n") + 1,
            hint="save the file as UTF-8",
        ) from None
    loaded = loader(text, source=source, aliases=aliases, blocklist=blocklist)
    return loaded if isinstance(loaded, list) else [loaded]


def load_articles(
    paths: Iterable[Path], *, root: Path, aliases: Mapping[str, str] = {}, blocklist: Iterable[str] = ()
) -> LoadResult:
    """Load every article file named in ``paths`` (files, or folders searched recursively).

    Each file is read once, even when named twice; a file that fails adds one error and the rest still load.
    """
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
            loaded, errors = read_article_file(file, root=root, aliases=aliases, blocklist=blocklist)
            result.articles.extend(loaded)
            result.errors.extend(errors)
    return result
