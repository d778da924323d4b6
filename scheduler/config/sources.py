"""The effective configuration, with where each value came from: a default, a line of the TOML file, ``.env``,
an environment variable, or a secret file. Secrets are masked as ``**********`` in everything this returns."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.config.env_origin import dotenv_entries, env_name
from scheduler.config.locate import find_line, toml_key_lines
from scheduler.config.models import SECRET_KEYS
from scheduler.config.redact import MASK
from scheduler.config.settings import Settings

_SECRET_NAME = re.compile(r"(^|_)(token|password|secret|api_key|webhook_url)$", re.IGNORECASE)
_URL_PASSWORD = re.compile(
    r"^(?P<head>[a-z][a-z0-9+.\-]*://[^/@:\s]*:)(?P<password>[^/@\s]+)(?P<tail>@.*)$", re.I
)


@dataclass(frozen=True)
class SourcedValue:
    """One leaf of the effective config: ``key`` dotted, ``value`` JSON-safe and masked, ``source``."""

    key: str
    value: Any
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "source": self.source}


def masked(value: Any, name: str = "") -> Any:
    """``value`` with every secret-looking entry replaced by ``**********`` and URL passwords hidden."""
    if isinstance(value, dict):
        return {key: masked(item, str(key)) for key, item in value.items()}
    if isinstance(value, list):
        return [masked(item, name) for item in value]
    if value is not None and _SECRET_NAME.search(name) and not name.endswith("_file"):
        return MASK
    if isinstance(value, str):
        match = _URL_PASSWORD.match(value)
        if match:
            return f"{match['head']}{MASK}{match['tail']}"
    return value


def effective_config(settings: Settings) -> dict[str, Any]:
    """The settings as JSON-safe data (durations as ``"1h30m"``, dates as ISO text), secrets masked."""
    data: dict[str, Any] = masked(settings.model_dump(mode="json"))
    return data


def environment_source(path: list[str], root: Path) -> str | None:
    """The environment variable (or ``.env`` entry) that sets ``path`` or a table holding it, if any."""
    names = [env_name(path[:size]) for size in range(len(path), 0, -1)]
    environ = {name.upper() for name in os.environ}
    for name in names:
        if name in environ:
            return f"env {name}"
    env_file = root / ".env"
    in_dotenv = dotenv_entries(env_file if env_file.is_file() else None)
    for name in names:
        if name in in_dotenv:
            written, line, _ = in_dotenv[name]
            return f".env:{line} {written}"
    return None


def value_sources(settings: Settings, text: str, root: Path, *, shown: str) -> list[SourcedValue]:
    """Every set leaf of the effective config with its source, in model order."""
    data = tomllib.loads(text)
    lines = toml_key_lines(text)
    out: list[SourcedValue] = []
    for path, value in _leaves(effective_config(settings), []):
        out.append(
            SourcedValue(
                ".".join(path),
                value,
                _source(path, settings=settings, data=data, lines=lines, root=root, shown=shown),
            )
        )
    return out


def _leaves(value: Any, path: list[str]) -> list[tuple[list[str], Any]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in value.items() for leaf in _leaves(item, [*path, str(key)])]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, [*path, str(index)])]
    return [] if value is None else [(path, value)]


def _source(
    path: list[str],
    *,
    settings: Settings,
    data: dict[str, Any],
    lines: dict[tuple[str, ...], int],
    root: Path,
    shown: str,
) -> str:
    from_environment = environment_source(path, root)
    if from_environment:
        return from_environment
    if len(path) == 3 and path[0] == "channels" and path[2] in SECRET_KEYS:
        channel = settings.channels.get(path[1])
        file_name = getattr(channel, f"{path[2]}_file", None) if channel is not None else None
        if file_name and not _in_toml(data, path):
            return f"file {file_name} (channels.{path[1]}.{path[2]}_file)"
    if _in_toml(data, path):
        line = find_line(lines, path)
        return f"{shown}:{line}" if line else shown
    return "default"


def _in_toml(data: Any, path: list[str]) -> bool:
    node = data
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True
