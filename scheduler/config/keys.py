"""Dotted config keys (``channels.bsky.schedule``, ``rules.0.channels``) resolved against the pydantic models.

The models are the single source of truth: a key is valid when the models have it, and its type says how a
value typed on the command line is read and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from scheduler.config.names import check_path, check_template
from scheduler.config.settings import Settings
from scheduler.config.urls import check_database_url, check_http_url
from scheduler.config.zones import check_zone
from scheduler.errors import ConfigError

PathPart = str | int
Kind = Literal["value", "table", "tables", "secret"]
_PLURALS: dict[Any, str] = {
    str: "texts",
    int: "whole numbers",
    date: "dates (2026-12-25)",
    timedelta: "durations (30m)",
}
_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^."\']+)')


@dataclass(frozen=True)
class KeyInfo:
    """What a key is: its path (list indexes as ints), its type, and the model field that declares it."""

    path: tuple[PathPart, ...]
    annotation: Any
    optional: bool
    field: FieldInfo | None
    kind: Kind

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    @property
    def description(self) -> str | None:
        return self.field.description if self.field is not None else None


class UnknownKey(ConfigError, LookupError):
    """A dotted key that the config models do not have."""


def dotted(path: Sequence[PathPart]) -> str:
    """``("channels", "my.bot", "token")`` -> ``channels."my.bot".token``; a part with quotes, control
    characters or escapes is quoted as a TOML string, so that it shows (and pastes) safely."""
    return ".".join(
        str(p) if isinstance(p, int) or re.fullmatch(r"[A-Za-z0-9_-]+", p) else _quoted(p) for p in path
    )


def _quoted(part: str) -> str:
    text = json.dumps(part, ensure_ascii=False)
    return "".join(
        ch if ch.isprintable() else f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
        for ch in text
    )


def split_key(key: str) -> list[str]:
    """``'channels."my.bot".token'`` -> ``["channels", "my.bot", "token"]``; UnknownKey when malformed."""
    parts: list[str] = []
    position = 0
    text = key.strip()
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            break
        parts.append(next(group for group in match.groups() if group is not None).strip())
        position = match.end()
        if position < len(text):
            if text[position] != ".":
                break
            position += 1
    else:
        if text and not text.endswith(".") and all(parts):
            return parts
    raise UnknownKey(
        f"'{key}' is not a key",
        hint="write the path joined by dots, e.g. channels.bsky.schedule or rules.0.channels; "
        'quote a name that holds a dot: channels."my.bot".handle',
    )


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> ``(int, True)``; anything else -> ``(annotation, False)``. Validators attached with
    ``Annotated`` are dropped: ``Annotated[str, ...]`` -> ``(str, False)``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(args) < len(get_args(annotation)):
            return unwrap_optional(args[0])[0], True
    return annotation, False


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _kind(annotation: Any) -> Kind:
    if annotation is SecretStr:
        return "secret"
    if is_model(annotation):
        return "table"
    args = get_args(annotation)
    if get_origin(annotation) in (list, dict) and args and is_model(args[-1]):
        return "tables"
    return "value"


def resolve_key(key: str | list[str]) -> KeyInfo:
    """The :class:`KeyInfo` of a dotted key; UnknownKey says which part is wrong and suggests the closest."""
    parts = split_key(key) if isinstance(key, str) else key
    node: Any = Settings
    optional = False
    field: FieldInfo | None = None
    path: list[PathPart] = []
    for part in parts:
        origin, args = get_origin(node), get_args(node)
        if node is Any:
            path.append(part)
            continue
        if is_model(node):
            found = node.model_fields.get(part)
            if found is None:
                raise _unknown(part, list(node.model_fields), path)
            field = found
            node, optional = unwrap_optional(found.annotation)
            path.append(part)
        elif origin is dict:
            node, optional = unwrap_optional(args[1])
            path.append(part)
            if is_model(node):
                field = None
        elif origin is list and is_model(args[0]):
            if not part.isdigit():
                raise UnknownKey(
                    f"{dotted(path)} is a list of tables: '{part}' is not an entry number",
                    hint=f"name an entry by its number from 0, e.g. {dotted(path)}.0",
                )
            node, optional, field = args[0], False, None
            path.append(int(part))
        else:
            raise UnknownKey(
                f"{dotted(path)} is a single value ({describe_type(node)}); it has no key '{part}'",
                hint=f"set the whole value: tagcast config set {dotted(path)} VALUE",
            )
    if not path:
        raise UnknownKey("no key given", hint="name a key, e.g. channels.bsky.schedule")
    return KeyInfo(tuple(path), node, optional, field, _kind(node))


def _unknown(part: str, known: list[str], parent: list[PathPart]) -> UnknownKey:
    where = f"in {dotted(parent)}" if parent else "at the top level"
    close = difflib.get_close_matches(part, known, n=1, cutoff=0.6)
    message = f"unknown key '{part}' {where}" + (f"; did you mean '{close[0]}'?" if close else "")
    return UnknownKey(message, hint=f"keys allowed {where}: {', '.join(known)}")


def describe_type(annotation: Any, field: FieldInfo | None = None) -> str:
    """What a value of this type looks like, for error messages: ``a whole number >= 1``."""
    annotation, _ = unwrap_optional(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return "a whole number" + _bounds(field)
    if annotation is float:
        return "a number" + _bounds(field)
    if annotation is timedelta:
        return "a duration like 90s, 30m, 1h30m or 2d"
    if annotation is date:
        return "a date like 2026-12-25"
    if annotation is str:
        checks = _checks(field)
        for check, text in _CHECKED_TEXT.items():
            if check in checks:
                return text
        return "text"
    if annotation is SecretStr:
        return "a secret (from the environment, .env or a *_file key)"
    if origin is list:
        item = _PLURALS.get(unwrap_optional(args[0])[0], "values") if args else "values"
        return f'a list of {item}, as ["a", "b"] or a, b' + _length(field)
    if origin is dict:
        return 'a table like {name = "value"}' if not is_model(args[1]) else "a table of tables"
    if is_model(annotation):
        return "a table"
    return "any TOML value"


_CHECKED_TEXT: dict[Any, str] = {
    check_zone: "an IANA time zone name like Europe/Berlin",
    check_template: "a template file name like history.j2",
    check_http_url: "an http(s) URL like https://mastodon.social",
    check_database_url: "a database URL like sqlite:///var/tagcast.db",
    check_path: "a file or folder, relative to the workspace or absolute",
}


def _checks(field: FieldInfo | None) -> set[Any]:
    """The functions that validate a field's value (also inside ``Annotated[...] | None``)."""
    if field is None:
        return set()
    metadata = list(field.metadata)
    for arg in get_args(field.annotation):
        if get_origin(arg) is Annotated:
            metadata += get_args(arg)[1:]
    return {getattr(meta, "func", None) for meta in metadata} - {None}


def _bounds(field: FieldInfo | None) -> str:
    if field is None:
        return ""
    out = []
    for meta in field.metadata:
        if isinstance(meta, annotated_types.Ge):
            out.append(f" >= {meta.ge}")
        elif isinstance(meta, annotated_types.Gt):
            out.append(f" > {meta.gt}")
        elif isinstance(meta, annotated_types.Le):
            out.append(f" <= {meta.le}")
        elif isinstance(meta, annotated_types.Lt):
            out.append(f" < {meta.lt}")
    return "".join(out)


def _length(field: FieldInfo | None) -> str:
    if field is None:
        return ""
    for meta in field.metadata:
        if isinstance(meta, annotated_types.MinLen) and meta.min_length:
            return f" (at least {meta.min_length})"
    return ""


def allowed(info: KeyInfo, *, in_file: bool = True) -> str:
    """One line: what ``info``'s key accepts and means (for a key of the file: how to unset it)."""
    text = describe_type(info.annotation, info.field)
    if info.description:
        text += f" ({info.description.rstrip('.')})"
    if info.optional and in_file:
        text += f"; `tagcast config unset {info.dotted}` goes back to the default"
    return text
