"""Markdown articles: optional YAML front matter between ``---`` lines, then the body.

The title comes from the front matter or, failing that, from the first ``# Heading`` of the body (which is
then removed from the body). A heading that only repeats the front-matter title is removed too.
"""

from __future__ import annotations

from typing import Any

from markdown_it.tree import SyntaxTreeNode

from scheduler.articles.fields import ArticleOptions, RawArticle, build_article
from scheduler.articles.frontmatter import parse_front_matter
from scheduler.articles.mdtext import inline_text, markdown_text, parser
from scheduler.errors import ArticleError
from scheduler.models import Article

_OPENING = {"---"}
_CLOSING = {"---", "..."}


def load_markdown(text: str, *, source: str, options: ArticleOptions) -> Article:
    """Read one Markdown article; ``source`` names the file in errors and on the article."""
    lines = text.splitlines()
    values: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    body_start = 0
    if lines and lines[0].strip() in _OPENING:
        end = next((index for index in range(1, len(lines)) if lines[index].rstrip() in _CLOSING), None)
        if end is None:
            raise ArticleError(
                source,
                "the front matter is not closed",
                line=1,
                hint="add a line with only --- after the last front-matter key",
            )
        values, key_lines = parse_front_matter("\n".join(lines[1:end]), first_line=2, source=source)
        body_start = end + 1
    body_lines = lines[body_start:]
    title = values.get("title")
    heading = _first_heading(body_lines)
    fallback = None
    if heading is not None:
        (first, last), heading_title = heading
        written = title.strip() if isinstance(title, str) else ""
        if not written or heading_title.casefold() == written.casefold():
            fallback = heading_title
            _remove_lines(body_lines, first, last)
    return build_article(
        RawArticle(
            source=source,
            file=source,
            values=values,
            key_lines=key_lines,
            start_line=2 if body_start else 1,
            body="\n".join(body_lines),
            fallback_title=fallback,
        ),
        options,
        render=markdown_text,
    )


def _remove_lines(lines: list[str], first: int, last: int) -> None:
    del lines[first:last]
    blank_before = first == 0 or not lines[first - 1].strip()
    if blank_before and first < len(lines) and not lines[first].strip():
        del lines[first]


def _first_heading(lines: list[str]) -> tuple[tuple[int, int], str] | None:
    """The lines (first, end) and the text of the first top-level ``# Heading`` (or ``===`` underlined)."""
    tree = SyntaxTreeNode(parser().parse("\n".join(lines)))
    for node in tree.children:
        if node.type == "heading" and node.tag == "h1" and node.map and node.children:
            title = inline_text(node.children[0])
            if title:
                return (node.map[0], node.map[1]), title
    return None
