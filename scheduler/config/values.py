"""Read a value typed on the command line by its key's type: ``30m``, ``a, b``, ``["a", "b"]``, ``yes``."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date, timedelta
from typing import Annotated, Any, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from scheduler.config.durations import parse_duration
from scheduler.config.keys import KeyInfo, allowed, unwrap_optional

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_INT = re.compile(r"[+-]?\d[\d_]*")


class InvalidValue(ValueError):
    """A value that its key does not accept; ``str()`` says why."""


def parse_value(info: KeyInfo, raw: str) -> Any:
    """The value to write into the TOML file for ``raw`` typed for ``info``'s key, checked against its model.

    Raises InvalidValue naming what is wrong and what the key allows.
    """
    try:
        value = _parse(info.annotation, raw)
        _check(info, value)
    except InvalidValue as exc:
        raise InvalidValue(f"{info.dotted}: {exc}; allowed: {allowed(info)}") from None
    return value


def _parse(annotation: Any, raw: str) -> Any:
    origin, args = get_origin(annotation), get_args(annotation)
    text = raw.strip()
    if annotation is str:
        return raw
    if annotation is bool:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise InvalidValue(f"{raw!r} is not true or false")
    if annotation is int:
        if _INT.fullmatch(text):
            return int(text)
        raise InvalidValue(f"{raw!r} is not a whole number")
    if annotation is float:
        try:
            return float(text)
        except ValueError:
            raise InvalidValue(f"{raw!r} is not a number") from None
    if annotation is timedelta:
        try:
            parse_duration(text)
        except ValueError as exc:
            raise InvalidValue(str(exc)) from None
        return text
    if annotation is date:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidValue(f"{raw!r} is not a date (YYYY-MM-DD)") from None
    if origin is list:
        item_type = args[0] if args else Any
        return [_item(item_type, item) for item in _split_list(raw)]
    if origin is dict:
        table = _toml_value(text)
        if not isinstance(table, dict):
            raise InvalidValue(f'{raw!r} is not a table; write it like {{name = "value"}}')
        return {str(key): _item(args[1] if args else Any, item) for key, item in table.items()}
    if annotation is Any:
        try:
            return _toml_value(text)
        except InvalidValue:
            return raw
    raise InvalidValue(f"values of type {annotation!r} cannot be set from the command line")


def _item(annotation: Any, item: Any) -> Any:
    annotation, _ = unwrap_optional(annotation)
    if isinstance(item, str) and annotation is not Any:
        return _parse(annotation, item)
    if annotation is Any or (
        (isinstance(item, annotation) and not isinstance(item, bool)) or annotation is bool
    ):
        if annotation is bool and not isinstance(item, bool):
            raise InvalidValue(f"{item!r} is not true or false")
        return item
    raise InvalidValue(f"{item!r} is not {_article(annotation)}")


def _article(annotation: Any) -> str:
    return {int: "a whole number", date: "a date", str: "text", float: "a number"}.get(
        annotation, "allowed here"
    )


def _split_list(raw: str) -> list[Any]:
    text = raw.strip()
    if text.startswith("["):
        value = _toml_value(text)
        if not isinstance(value, list):
            raise InvalidValue(f"{raw!r} is not a list")
        return value
    if not text:
        return []
    # "sat,sun 10:30" is one slot: a bare comma separates only items without spaces ("a,b").
    if re.search(r",\s", text):
        parts = re.split(r",\s+", text)
    elif re.search(r"\s", text):
        parts = [text]
    else:
        parts = text.split(",")
    return [part.strip() for part in parts if part.strip()]


def _toml_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError as exc:
        raise InvalidValue(f"{text!r} is not a TOML value ({exc})") from None


def _check(info: KeyInfo, value: Any) -> None:
    field = info.field
    metadata: list[Any] = []
    if field is not None and unwrap_optional(field.annotation)[0] == info.annotation:
        metadata = list(field.metadata)
    annotation: Any = Annotated[info.annotation, *metadata] if metadata else info.annotation
    try:
        TypeAdapter(annotation).validate_python(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidValue(f"{message}{' at ' + where if where else ''}") from None


def format_value(value: Any) -> str:
    """How ``tagcast config get`` prints a value: text as it is, anything else as JSON (a TOML value too)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
