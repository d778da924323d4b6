"""Markdown to the plain text a post carries, with markdown-it-py (CommonMark, plus tables and ~~strike~~).

    >>> markdown_text("A **bold** claim,\\nwrapped mid-sentence. See [the map](https://example.org/map).")
    'A bold claim, wrapped mid-sentence. See the map (https://example.org/map).'

Paragraphs are kept (a blank line between them); the lines of a paragraph are joined; emphasis, code and
headings become their text; list items start with ``•`` (or their number); a quote is set in “...”; a link is
its text and its address in brackets (only the address when they are the same, only the text for an address
that is not a web address); an image is its alt text.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

_BLOCK_SEPARATOR = "\n\n"


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser (raw HTML is kept as written)."""
    return MarkdownIt("commonmark").enable(["strikethrough", "table"])


def markdown_text(text: str) -> str:
    """The plain text of the Markdown ``text``."""
    return blocks_text(parse(text))


def parse(text: str) -> list[SyntaxTreeNode]:
    """The top-level blocks of the Markdown ``text``."""
    return list(SyntaxTreeNode(parser().parse(text)).children) if text.strip() else []


def blocks_text(blocks: list[SyntaxTreeNode]) -> str:
    """The plain text of some blocks (from :func:`parse`), a blank line between two."""
    return _BLOCK_SEPARATOR.join(block for block in _blocks(blocks) if block).strip()


def inline_text(node: SyntaxTreeNode) -> str:
    """The text of a block's inline content (a heading, a paragraph)."""
    return "".join(_inline(child) for child in node.children).strip()


def _blocks(nodes: list[SyntaxTreeNode]) -> list[str]:
    return [_block(node) for node in nodes]


def _block(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("paragraph", "heading"):
        return inline_text(node.children[0]) if node.children else ""
    if kind in ("code_block", "fence", "html_block"):
        return node.content.strip("\n")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node)
    if kind == "blockquote":
        quoted = _BLOCK_SEPARATOR.join(block for block in _blocks(node.children) if block)
        return f"“{quoted}”" if quoted else ""
    if kind == "table":
        return "\n".join(_row(row) for row in _rows(node))
    return ""


def _list(node: SyntaxTreeNode) -> str:
    start = node.attrs.get("start", 1) if node.type == "ordered_list" else None
    number = int(start) if isinstance(start, int | float | str) and str(start).isdigit() else 1
    delimiter = node.markup or "."
    lines: list[str] = []
    for index, item in enumerate(node.children):
        marker = f"{number + index}{delimiter} " if node.type == "ordered_list" else "• "
        text = "\n".join(block for block in _blocks(item.children) if block)
        indent = " " * len(marker)
        lines.append(marker + text.replace("\n", "\n" + indent))
    return "\n".join(lines)


def _rows(table: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return [row for section in table.children for row in section.children]


def _row(row: SyntaxTreeNode) -> str:
    return " | ".join(inline_text(cell.children[0]) if cell.children else "" for cell in row.children)


def _inline(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind in ("text", "code_inline", "html_inline"):
        return node.content
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "\n"
    inner = "".join(_inline(child) for child in node.children)
    if kind == "link":
        return _link(inner, str(node.attrs.get("href", "")))
    return inner


def _link(text: str, href: str) -> str:
    if not href.casefold().startswith(("http://", "https://")):
        return text or href
    bare = href.split("://", 1)[1].rstrip("/")
    if not text.strip() or text in (href, bare) or text.rstrip("/") == bare:
        return href
    return f"{text} ({href})"
