"""``config get``/``set``/``unset`` on the text of ``config/tagcast.toml``: dotted keys, values read by the
key's type, comments and formatting elsewhere kept byte for byte (tomlkit).

These functions only compute the new text; :func:`scheduler.validation.save_config_text` validates the whole
result and writes it atomically, so a refused change leaves the file untouched::

    change = set_key(text, "channels.bsky.schedule", "weekdays")
    save_config_text(path, change.text, root, shown="config/tagcast.toml")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.toml_document import TOMLDocument

from scheduler.config import toml_doc
from scheduler.config.credentials import secret_hint
from scheduler.config.keys import KeyInfo, dotted, resolve_key
from scheduler.config.locate import find_line, toml_key_lines
from scheduler.config.settings import Settings
from scheduler.config.sources import effective_config
from scheduler.config.values import InvalidValue, format_value, parse_value
from scheduler.errors import ConfigError


@dataclass(frozen=True)
class Change:
    """A computed edit: the whole new text, the key it touched, and that key's line in the new text."""

    text: str
    key: str
    line: int | None
    changed: bool


def parse_document(text: str, shown: str = "config/tagcast.toml") -> TOMLDocument:
    try:
        return tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(
            f"{shown} is not valid TOML: {exc}",
            hint="fix the syntax first (`tagcast config edit` or any editor), then try again",
        ) from None


def settable(key: str) -> KeyInfo:
    """The KeyInfo of a key that ``config set`` may write; refuses secrets and whole tables, saying why."""
    info = resolve_key(key)
    if info.kind == "secret":
        channel = str(info.path[1]) if len(info.path) > 2 else "NAME"
        raise ConfigError(
            f"{info.dotted} is a secret: it is never written to tagcast.toml",
            hint=secret_hint(channel, str(info.path[-1])),
        )
    if info.kind in ("table", "tables"):
        raise ConfigError(
            f"{info.dotted} is a table, not a single value",
            hint="set its keys one at a time, e.g. "
            f"tagcast config set {info.dotted}{_example_child(info)} VALUE",
        )
    return info


def _example_child(info: KeyInfo) -> str:
    if info.kind == "tables":
        return ".0.channels" if info.path[-1] == "rules" else ".NAME.KEY"
    first = next(iter(info.annotation.model_fields))
    return f".{first}"


def set_key(text: str, key: str, raw: str, *, shown: str = "config/tagcast.toml") -> Change:
    """The text with ``key`` set to ``raw``, read by the key's type; a refused value raises ConfigError."""
    info = settable(key)
    try:
        value = parse_value(info, raw)
    except InvalidValue as exc:
        raise ConfigError(str(exc), hint="the file was not changed") from None
    return set_value(text, info, value, shown=shown)


def set_value(text: str, info: KeyInfo, value: Any, *, shown: str = "config/tagcast.toml") -> Change:
    """The text with ``info``'s key set to an already parsed ``value``."""
    doc = parse_document(text, shown)
    try:
        toml_doc.set_value(doc, info.path, value)
    except (toml_doc.PathError, TOMLKitError) as exc:
        raise ConfigError(f"cannot set {info.dotted}: {exc}", hint=_path_hint(info)) from None
    return _change(text, tomlkit.dumps(doc), info)


def unset_key(text: str, key: str, *, shown: str = "config/tagcast.toml") -> Change:
    """The text without ``key`` (a value, a table, or a ``rules`` entry); the default applies again."""
    info = resolve_key(key)
    doc = parse_document(text, shown)
    try:
        toml_doc.lookup(doc, info.path)
    except toml_doc.PathError:
        raise ConfigError(
            f"{info.dotted} is not set in {shown}: nothing to unset",
            hint="`tagcast config show --sources` shows where each value comes from",
        ) from None
    toml_doc.remove(doc, info.path)
    new = tomlkit.dumps(doc)
    if new.endswith("\n\n") and not text.endswith("\n\n"):
        new = new.rstrip("\n") + "\n"
    return _change(text, new, info)


def _change(old: str, new: str, info: KeyInfo) -> Change:
    line = find_line(toml_key_lines(new), [str(p) for p in info.path])
    return Change(text=new, key=info.dotted, line=line, changed=new != old)


def _path_hint(info: KeyInfo) -> str:
    if any(isinstance(p, int) for p in info.path):
        return "entries of [[rules]] are numbered from 0 in file order; `tagcast config show` lists them"
    return "`tagcast config show` lists the keys there are"


def get_key(settings: Settings, key: str) -> Any:
    """The effective value of ``key`` as JSON-safe data, secrets masked; a table gives a dict."""
    info = resolve_key(key)
    node: Any = effective_config(settings)
    for depth, part in enumerate(info.path):
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        elif node is None:
            return None
        else:
            parent = dotted(list(info.path[:depth]))
            there = (
                ", ".join(str(k) for k in node) if isinstance(node, dict) else f"{len(node)} entries from 0"
            )
            raise ConfigError(
                f"no {dotted(list(info.path[: depth + 1]))} in the config",
                hint=f"{parent} has: {there or 'nothing'}",
            )
    return node


__all__ = [
    "Change",
    "format_value",
    "get_key",
    "parse_document",
    "set_key",
    "set_value",
    "settable",
    "unset_key",
]
