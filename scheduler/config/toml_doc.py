"""Change a parsed TOML document (tomlkit) in place, keeping every comment, blank line and key order.

tomlkit keeps a comment block that stands above a table header inside the body of the table *before* it.
Adding a key or a table at the end of a table would therefore land below that comment, and removing a table
would take the next table's comment with it. The functions here move such trailing comments so that they
stay right above the header they describe. Positions are changed through tomlkit's ``Container._insert_at``
and ``_map`` (tomlkit has no public API for "insert here"); tests/config_edit pins the exact output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import AoT, Array, InlineTable, Item, Null, SingleKey, Table, Whitespace
from tomlkit.toml_document import TOMLDocument

PathPart = str | int
Node = TOMLDocument | Table | InlineTable


class PathError(LookupError):
    """A key path that does not exist (or cannot be created) in the document; ``str()`` says which part."""


def to_toml(value: Any) -> Item:
    """A tomlkit item for a Python value; dicts become inline tables, nested lists stay on one line."""
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for key, item in value.items():
            table[key] = to_toml(item)
        return table
    if isinstance(value, list | tuple):
        array = tomlkit.array()
        array.extend(to_toml(item) for item in value)
        return array
    converted: Item = tomlkit.item(value)
    return converted


def container_of(node: Any) -> Container:
    return node if isinstance(node, Container) else node.value


def lookup(doc: TOMLDocument, path: Sequence[PathPart]) -> Any:
    """The item at ``path``, or raise PathError naming the first part that is not there."""
    node: Any = doc
    for depth, part in enumerate(path):
        node = _child(node, part, path[: depth + 1])
    return node


def _child(node: Any, part: PathPart, where: Sequence[PathPart]) -> Any:
    shown = ".".join(str(p) for p in where)
    if isinstance(part, int):
        if not isinstance(node, AoT | Array):
            raise PathError(f"{shown}: not a list of tables")
        if not 0 <= part < len(node):
            raise PathError(f"{shown}: there are {len(node)} entries (numbered from 0)")
        return node[part]
    if not isinstance(node, TOMLDocument | Table | InlineTable | Container) or part not in node:
        raise PathError(f"{shown}: not in the file")
    return node[part]


def set_value(doc: TOMLDocument, path: Sequence[PathPart], value: Any) -> None:
    """Set ``path`` to ``value``: an existing value is replaced where it stands (its comment stays); a new
    key goes after the last key of its table; missing tables are created. A change inside an inline table
    rewrites that inline table (``{a = 1, b = 2}``) and nothing else."""
    inline = _outer_inline(doc, path)
    if inline is not None:
        head = path[: inline + 1]
        data = lookup(doc, head).unwrap()
        _set_plain(data, path[inline + 1 :], value)
        path, value = head, data
    parent: Any = lookup(doc, path[:-1]) if isinstance(path[-1], int) else _ensure_parent(doc, path[:-1])
    key = path[-1]
    item = to_toml(value)
    if isinstance(key, int) or key in parent:
        parent[key] = item
    else:
        _insert_key(parent, key, item)


def _outer_inline(doc: TOMLDocument, path: Sequence[PathPart]) -> int | None:
    """The index in ``path`` of the first inline table that holds the target (not the target itself)."""
    node: Any = doc
    for depth, part in enumerate(path[:-1]):
        try:
            node = _child(node, part, path[: depth + 1])
        except PathError:
            return None
        if isinstance(node, InlineTable):
            return depth
    return None


def _set_plain(data: Any, path: Sequence[PathPart], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {}) if isinstance(data, dict) else data[part]
    data[path[-1]] = value


def _ensure_parent(doc: TOMLDocument, path: Sequence[PathPart]) -> Node:
    node: Any = doc
    for depth, part in enumerate(path):
        if isinstance(part, str) and isinstance(node, TOMLDocument | Table) and part not in node:
            insert_table(node, part, _nested_tables(path[depth + 1 :]))
        node = _child(node, part, path[: depth + 1])
    if not isinstance(node, TOMLDocument | Table | InlineTable):
        raise PathError(f"{'.'.join(str(p) for p in path)}: a single value, not a table")
    return node


def _nested_tables(rest: Sequence[PathPart]) -> Table:
    """``[a]`` for no rest; for ``rest = ("b",)`` a super-table holding ``[a.b]``, and so on."""
    if not rest:
        return tomlkit.table()
    outer = tomlkit.table(is_super_table=True)
    outer.append(str(rest[0]), _nested_tables(rest[1:]))
    return outer


def _insert_key(parent: Node, key: str, item: Item) -> None:
    """Add ``key`` after the last key/value of ``parent`` (before its trailing comments and sub-tables)."""
    if isinstance(parent, InlineTable):
        parent[key] = item
        return
    container = container_of(parent)
    body = container.body
    last_value = -1
    first_table = len(body)
    for index, (name, existing) in enumerate(body):
        if isinstance(existing, Table | AoT):
            first_table = min(first_table, index)
        elif name is not None and index < first_table:
            last_value = index
    position = last_value + 1 if last_value >= 0 else first_table if isinstance(parent, TOMLDocument) else 0
    if position >= len(body):
        container.append(key, item)
        return
    if isinstance(parent, TOMLDocument) and isinstance(body[position][1], Table | AoT):
        item.trivia.trail = "\n\n"
    container._insert_at(position, key, item)


def insert_table(parent: Node, name: str, table: Table) -> None:
    """Add ``[parent.name]``: at the end of ``parent``, or, at the top level, before the first ``[[array]]``.

    Comments standing above the next header stay above it, and the new table is set off by a blank line.
    """
    container = container_of(parent)
    body = container.body
    position = len(body)
    if isinstance(parent, TOMLDocument):
        position = next((i for i, (_, item) in enumerate(body) if isinstance(item, AoT)), len(body))
    previous = _last_table_before(container, position)
    if previous is None and isinstance(parent, Table) and not parent.is_super_table():
        previous = parent
    first = _first_rendered_table(table)
    last = deepest_last_table(table)
    last = table if last is None else last
    blank: list[Whitespace] = []
    if previous is not None:
        detached = detach_trailing(previous)
        blank = _leading_blank(detached)
        for space in blank:
            container_of(previous).append(None, space)
        if len(blank) < len(detached) or position < len(body):
            for moved in [Whitespace(space.s) for space in blank] + detached[len(blank) :]:
                last.append(None, moved)
    if (not blank and any(not isinstance(item, Null) for _, item in body[:position])) or previous is parent:
        first.trivia.indent = "\n"
    if position >= len(body):
        container.append(name, table)
    else:
        container._insert_at(position, name, table)
    if first is not table:
        table.trivia.indent = ""


def _first_rendered_table(table: Table) -> Table:
    while table.is_super_table():
        child = next((item for _, item in table.value.body if isinstance(item, Table)), None)
        if child is None:
            break
        table = child
    return table


def _leading_blank(items: list[Item]) -> list[Whitespace]:
    blank: list[Whitespace] = []
    for item in items:
        if not isinstance(item, Whitespace):
            break
        blank.append(item)
    return blank


def _last_table_before(container: Container, position: int) -> Table | None:
    """The table rendered last before ``position``: the deepest last sub-table of the item before it."""
    for _, item in reversed(container.body[:position]):
        if isinstance(item, Null):
            continue
        if isinstance(item, Table | AoT):
            return deepest_last_table(item)
        return None
    return None


def deepest_last_table(item: Table | AoT) -> Table | None:
    node: Table | None = (
        item[-1] if isinstance(item, AoT) and len(item) else item if isinstance(item, Table) else None
    )
    while node is not None:
        last = next((entry for _, entry in reversed(node.value.body) if not isinstance(entry, Null)), None)
        if isinstance(last, Table):
            node = last
        elif isinstance(last, AoT) and len(last):
            node = last[-1]
        else:
            break
    return node


def detach_trailing(table: Table) -> list[Item]:
    """Take the comments and blank lines that end ``table``'s body (they stand above the next header)."""
    body = table.value.body
    items: list[Item] = []
    while body and body[-1][0] is None and not isinstance(body[-1][1], Table | AoT):
        items.insert(0, body.pop()[1])
    return [item for item in items if not isinstance(item, Null)]


def remove(doc: TOMLDocument, path: Sequence[PathPart]) -> None:
    """Remove the key, table or list entry at ``path``; comments above the next header stay where they are."""
    lookup(doc, path)
    inline = _outer_inline(doc, path)
    if inline is not None:
        head = path[: inline + 1]
        data = lookup(doc, head).unwrap()
        container: Any = data
        for part in path[inline + 1 : -1]:
            container = container[part]
        del container[path[-1]]
        set_value(doc, head, data)
        return
    parent = lookup(doc, path[:-1]) if len(path) > 1 else doc
    key = path[-1]
    target = _child(parent, key, path)
    if isinstance(key, int):
        _remove_entry(doc, path, parent, key)
        return
    if isinstance(target, Table | AoT):
        last = deepest_last_table(target)
        trailing = detach_trailing(last) if last is not None else []
        body = container_of(parent)
        index = _index_of(body, key)
        body.remove(key)
        text = "".join(item.as_string() for item in trailing[len(_leading_blank(trailing)) :])
        if text and index is not None:
            body.body[index] = (None, Whitespace(text))
        return
    del parent[key]


def _index_of(container: Container, key: str) -> int | None:
    found = container._map.get(SingleKey(key))
    if isinstance(found, tuple):
        return max(found)
    return found


def _remove_entry(doc: TOMLDocument, path: Sequence[PathPart], parent: Any, index: int) -> None:
    if isinstance(parent, Array):
        del parent[index]
        return
    entry = parent[index]
    last = deepest_last_table(entry)
    trailing = detach_trailing(entry if last is None else last)
    text = "".join(item.as_string() for item in trailing[len(_leading_blank(trailing)) :])
    del parent[index]
    if index < len(parent):
        following = parent[index]
        following.trivia.indent = text + following.trivia.indent
    elif index > 0:
        previous = deepest_last_table(parent[index - 1])
        if previous is not None:
            for item in trailing[len(_leading_blank(trailing)) :]:
                previous.append(None, item)
    else:
        owner = lookup(doc, path[:-2]) if len(path) > 2 else doc
        body = container_of(owner)
        slot = _index_of(body, str(path[-2]))
        body.remove(str(path[-2]))
        if text and slot is not None:
            body.body[slot] = (None, Whitespace(text))
