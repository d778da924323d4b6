"""YAML front matter: the values, the line of each key, and a precise problem for anything YAML cannot build.

PyYAML's own safe loader raises a bare ``ValueError`` while it builds a date that does not exist
(``2024-02-30``), an offset of ``+25:00`` or a number of 5,000 digits, and recurses on deep nesting. The
loader here turns each of those into an :class:`ArticleError` naming the file, the line and the key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor

from scheduler.articles.fields import TAGS_HINT
from scheduler.articles.values import shown
from scheduler.errors import ArticleError

_YAML_HINTS = (
    ("flow sequence", "close the list with ] and separate its items with commas"),
    ("flow mapping", "close the mapping with } and separate its items with commas"),
    ("mapping values are not allowed", 'quote a value that contains ": ", e.g. title: "War: a story"'),
    ("found character '\\t'", "indent with spaces, not tabs"),
    ("could not find expected ':'", 'write each front-matter line as "key: value"'),
    ("expected <block end>", "check the indentation: list items and keys of one level must line up"),
)
_YAML_HINT = 'write "key: value" lines; quote values containing ": " or "#", or starting with [, {, @, * or &'

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (ten times faster), else the pure-Python one."""


class _BadScalar(yaml.MarkedYAMLError):
    """A scalar YAML recognised (a date, a number) whose value cannot be built."""

    def __init__(self, node: yaml.Node, problem: str, hint: str) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)
        self.hint = hint


class _FrontMatterLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, with dates and numbers that cannot be built reported instead of raised."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return SafeConstructor.construct_yaml_timestamp(self, node)
        except (ValueError, OverflowError) as exc:
            raise _BadScalar(
                node,
                f"{node.value[:60]} is not a real date{' and time' if len(node.value) > 10 else ''} ({exc})",
                "write a date that exists, e.g. 2024-02-29 or 2027-03-01T09:00:00+01:00 (offsets lie "
                'within ±23:59); put it in quotes, "...", if it is only text',
            ) from None

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        try:
            return SafeConstructor.construct_yaml_int(self, node)
        except (ValueError, OverflowError):
            raise _BadScalar(
                node,
                f"a number of {len(str(node.value))} characters is too long",
                'put it in quotes, "...", to keep it as text',
            ) from None

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any other value that the tag written (``!!float nope``, ``!!bool maybe``) cannot build."""
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, OverflowError, KeyError, TypeError, AttributeError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _BadScalar(
                node,
                f"{shown(node.value)} is not a valid {tag}",
                f"remove the {tag} tag, or put the value in quotes to keep it as text",
            ) from None


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _FrontMatterLoader.construct_yaml_timestamp)
_FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _FrontMatterLoader.construct_yaml_int)


def parse_front_matter(text: str, *, first_line: int, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The keys of a front matter (``text`` starts at line ``first_line`` of ``source``) and their lines."""
    loader = _FrontMatterLoader(text)
    try:
        node = _guard(loader.get_single_node, source, first_line)
        entries = list(node.value) if isinstance(node, yaml.MappingNode) else []
        key_lines = {
            str(key.value): first_line + key.start_mark.line
            for key, _ in entries
            if isinstance(key, yaml.ScalarNode)
        }
        for key, value in entries:  # the line of each image of a list: "images#1", "images#2", ...
            if (
                isinstance(key, yaml.ScalarNode)
                and key.value == "images"
                and isinstance(value, yaml.SequenceNode)
            ):
                for number, item in enumerate(value.value, start=1):
                    key_lines[f"images#{number}"] = first_line + item.start_mark.line
        # The entries are taken before the values are built: building a mapping with merge keys (``<<``)
        # rewrites its node.
        values = None if node is None else _guard(lambda: loader.construct_document(node), source, first_line)
    except _BadScalar as exc:
        line = first_line + exc.problem_mark.line if exc.problem_mark else first_line
        key = max(
            ((written, key) for key, written in key_lines.items() if written <= line), default=(0, None)
        )[1]
        message = f"{key}: {exc.problem}" if key else str(exc.problem)
        raise ArticleError(source, message, line=line, hint=exc.hint) from None
    finally:
        loader.dispose()
    if values is None:
        return {}, {}
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise ArticleError(
            source,
            'the front matter must be "key: value" lines',
            line=first_line,
            hint="write one key per line, e.g. title: ... and tags: [...]",
        )
    _check_commented_tags(text, values, key_lines, first_line=first_line, source=source)
    return {str(key): value for key, value in values.items()}, key_lines


_T = TypeVar("_T")


def _guard(step: Callable[[], _T], source: str, first_line: int) -> _T:
    """Run one step of the YAML loader; its errors (but a value YAML cannot build) become ArticleErrors."""
    try:
        return step()
    except _BadScalar:
        raise
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
    except RecursionError:
        raise ArticleError(
            source,
            "invalid front matter: lists or mappings are nested too deeply",
            line=first_line,
            hint="nest lists and mappings at most a few levels deep",
        ) from None


def _check_commented_tags(
    text: str, values: dict[Any, Any], key_lines: dict[str, int], *, first_line: int, source: str
) -> None:
    if "tags" not in values or values["tags"] is not None or "tags" not in key_lines:
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
