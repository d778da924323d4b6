"""Markdown articles: optional YAML front matter between ``---`` lines, then the body.

The title comes from the front matter or, failing that, from the first ``# Heading`` of the body (which is
then removed from the body). A heading that only repeats the front-matter title is removed too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from scheduler.articles.fields import TAGS_HINT, RawArticle, build_article
from scheduler.errors import ArticleError
from scheduler.models import Article

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_HEADING = re.compile(r"^ {0,3}# +(?P<title>.*?)(?: +#+)? *$")
_OPENING = {"---"}
_CLOSING = {"---", "..."}

_YAML_HINTS = (
    ("flow sequence", "close the list with ] and separate its items with commas"),
    ("flow mapping", "close the mapping with } and separate its items with commas"),
    ("mapping values are not allowed", 'quote a value that contains ": ", e.g. title: "War: a story"'),
    ("found character '\\t'", "indent with spaces, not tabs"),
    ("could not find expected ':'", 'write each front-matter line as "key: value"'),
    ("expected <block end>", "check the indentation: list items and keys of one level must line up"),
)
_YAML_HINT = 'write "key: value" lines; quote values containing ": " or "#", or starting with [, {, @, * or &'


def load_markdown(
    text: str, *, source: str, aliases: Mapping[str, str] = {}, blocklist: Iterable[str] = ()
) -> Article:
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
        values, key_lines = _parse_front_matter("\n".join(lines[1:end]), first_line=2, source=source)
        body_start = end + 1
    body_lines = lines[body_start:]
    title = values.get("title")
    heading = _first_heading(body_lines)
    fallback = None
    if heading is not None:
        index, heading_title = heading
        written = title.strip() if isinstance(title, str) else ""
        if not written or heading_title.casefold() == written.casefold():
            fallback = heading_title
            _remove_line(body_lines, index)
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
        aliases=aliases,
        blocklist=blocklist,
    )


def _remove_line(lines: list[str], index: int) -> None:
    del lines[index]
    blank_before = index == 0 or not lines[index - 1].strip()
    if blank_before and index < len(lines) and not lines[index].strip():
        del lines[index]


def _first_heading(lines: list[str]) -> tuple[int, str] | None:
    in_fence = False
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _HEADING.match(line)
        if match and match["title"].strip():
            return index, match["title"].strip()
    return None


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one."""


def _parse_front_matter(text: str, *, first_line: int, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        node, entries, values = _compose_and_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ": ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        hint = next((hint for needle, hint in _YAML_HINTS if needle in problem), _YAML_HINT)
        line = first_line + mark.line if mark else first_line
        if exc.context_mark and first_line + exc.context_mark.line != line:
            problem += f" (it starts on line {first_line + exc.context_mark.line})"
        raise ArticleError(source, f"invalid front matter: {problem}", line=line, hint=hint) from None
    except yaml.YAMLError as exc:
        raise ArticleError(source, f"invalid front matter: {exc}", line=first_line, hint=_YAML_HINT) from None
    if values is None:
        return {}, {}
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise ArticleError(
            source,
            'the front matter must be "key: value" lines',
            line=first_line,
            hint="write one key per line, e.g. title: ... and tags: [...]",
        )
    key_lines = {
        str(key.value): first_line + key.start_mark.line
        for key, _ in entries
        if isinstance(key, yaml.ScalarNode)
    }
    _check_commented_tags(text, values, key_lines, first_line=first_line, source=source)
    return {str(key): value for key, value in values.items()}, key_lines


def _compose_and_load(text: str) -> tuple[yaml.Node | None, list[tuple[yaml.Node, yaml.Node]], Any]:
    """``yaml.compose(text)`` and ``yaml.load(text)`` from one parse: the node, the (key, value) nodes of a
    mapping as written, and the values. The entries are taken before the values are built, because building
    a mapping with merge keys (``<<``) rewrites its node."""
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        entries = list(node.value) if isinstance(node, yaml.MappingNode) else []
        values = None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()
    return node, entries, values


def _check_commented_tags(
    text: str, values: dict[Any, Any], key_lines: dict[str, int], *, first_line: int, source: str
) -> None:
    if "tags" not in values or values["tags"] is not None:
        return
    line = key_lines["tags"]
    written = text.splitlines()[line - first_line]
    if "#" in written:
        raise ArticleError(
            source,
            "tags: is empty because YAML reads '#' after a space as the start of a comment",
            line=line,
            hint=TAGS_HINT,
        )
