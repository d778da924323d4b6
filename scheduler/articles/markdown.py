"""Markdown articles: optional YAML front matter between ``---`` lines, then the body.

The title comes from the front matter or, failing that, from the first ``# Heading`` of the body (which is
then removed from the body). A heading that only repeats the front-matter title is removed too.
"""

from __future__ import annotations

from typing import Any

from markdown_it.tree import SyntaxTreeNode

from scheduler.articles.bodytext import split_closing_tags
from scheduler.articles.fields import ArticleOptions, RawArticle, build_article
from scheduler.articles.frontmatter import parse_front_matter
from scheduler.articles.mdtext import blocks_text, inline_text, parse
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
    body, closing = split_closing_tags("\n".join(lines[body_start:]))
    blocks = parse(body)
    title = values.get("title")
    heading = _first_heading(blocks)
    fallback = None
    if heading is not None:
        written = title.strip() if isinstance(title, str) else ""
        if not written or heading[1].casefold() == written.casefold():
            fallback = heading[1]
            blocks.remove(heading[0])
    return build_article(
        RawArticle(
            source=source,
            file=source,
            values=values,
            key_lines=key_lines,
            start_line=2 if body_start else 1,
            body=blocks_text(blocks),
            fallback_title=fallback,
            closing_tags=closing,
        ),
        options,
    )


def _first_heading(blocks: list[SyntaxTreeNode]) -> tuple[SyntaxTreeNode, str] | None:
    """The first top-level ``# Heading`` (or ``===`` underlined) and its text."""
    for node in blocks:
        if node.type == "heading" and node.tag == "h1" and node.children:
            title = inline_text(node.children[0])
            if title:
                return node, title
    return None
