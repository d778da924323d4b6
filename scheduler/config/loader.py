"""Find the workspace, read ``config/tagcast.toml``, and turn every mistake into a ConfigError with key and
line."""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from scheduler.config.credentials import secret_env_var
from scheduler.config.env_origin import dotenv_problems, env_origin
from scheduler.config.keys import dotted
from scheduler.config.locate import find_line, toml_key_lines
from scheduler.config.models import SECRET_KEYS, ChannelSettings
from scheduler.config.paths import CONFIG_ENV, CONFIG_RELATIVE, display_path, find_workspace, workspace_root
from scheduler.config.settings import Settings, build_settings
from scheduler.errors import ConfigError

_DOTENV_HINT = "fix it or move it away: tagcast reads the .env beside config/ for TAGCAST_* variables"
_CONTAINER_ERRORS = {"list_type", "dict_type", "model_type", "model_attributes_type"}


@dataclass(frozen=True)
class Workspace:
    """The folder holding ``config/tagcast.toml``; relative paths in the config are relative to ``root``."""

    root: Path
    config_path: Path
    settings: Settings
    toml_text: str

    def path(self, relative: str | Path) -> Path:
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def display_config(self) -> str:
        return display_path(self.config_path, Path.cwd())


def load_workspace(config: str | Path | None = None, *, cwd: Path | None = None) -> Workspace:
    config_path = find_workspace(config, cwd=cwd)
    return load_config_file(config_path)


def load_config_file(config_path: Path) -> Workspace:
    root = workspace_root(config_path)
    shown = display_path(config_path, Path.cwd())
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the config file: {exc}") from exc
    settings = parse_settings(text, shown=shown, root=root)
    return Workspace(root=root, config_path=config_path, settings=settings, toml_text=text)


def parse_settings(text: str, *, shown: str, root: Path) -> Settings:
    """Validate a TOML text (plus ``root/.env`` and the environment) into Settings, or raise ConfigError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{shown} is not valid TOML: {exc}", hint="fix the syntax at that line (quotes, brackets, '=')"
        ) from exc
    env_file = root / ".env"
    env_problems, _ = dotenv_problems(env_file if env_file.is_file() else None)
    if env_problems:
        raise ConfigError(
            f"{display_path(env_file, Path.cwd())} cannot be read", problems=env_problems, hint=_DOTENV_HINT
        )
    try:
        settings = build_settings(data, str(env_file) if env_file.is_file() else None)
    except ValidationError as exc:
        raise ConfigError(
            f"{shown} has {exc.error_count()} invalid value(s)",
            problems=[describe_error(err, text, shown, env_file=env_file) for err in exc.errors()],
            hint="see `tagcast config schema` for every key and its type",
        ) from None
    read_secret_files(settings, root, text, shown)
    return settings


def describe_error(err: Any, text: str, shown: str, *, env_file: Path | str | None = None) -> str:
    """One line for one pydantic error: the key, where it came from (the TOML line, the environment variable
    or the line of ``env_file``), what is wrong (never the secret value)."""
    loc = [str(p) for p in err["loc"] if p != "[key]"]  # "[key]": the name of a table is wrong
    key = dotted(loc)
    where = _env_or_none(err, text, env_file) or _toml_origin(loc, text, shown)
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        close = difflib.get_close_matches(loc[-1], known, n=1)
        message = "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
        if known:
            message += f" (allowed here: {', '.join(sorted(known))})"
    elif err["type"] == "missing":
        message = "required key is missing"
    elif where.startswith("from ") and err["type"] in _CONTAINER_ERRORS:
        message += (
            '; a list or table from the environment or .env is JSON, e.g. ["a", "b"] or {"key": "value"}'
        )
    return f"{key} ({where}): {message}"


def _env_or_none(err: Any, text: str, env_file: Path | str | None) -> str | None:
    """The variable an error comes from; a key missing from a table comes from where the table does."""
    loc = list(err["loc"])
    if err["type"] == "missing" and len(loc) > 1:
        if tuple(str(p) for p in loc[:-1]) in toml_key_lines(text):
            return None
        return env_origin(loc[:-1], env_file, table=True)
    return env_origin(loc, env_file)


def _toml_origin(loc: list[str], text: str, shown: str) -> str:
    line = find_line(toml_key_lines(text), loc)
    return f"{shown}:{line}" if line else shown


def _known_keys(parent: list[str]) -> list[str]:
    model: type[BaseModel] | None = Settings
    index = 0
    while model is not None and index < len(parent):
        field = model.model_fields.get(parent[index])
        if field is None:
            return []
        annotation = field.annotation
        index += 1
        args = getattr(annotation, "__args__", ())
        if args and index < len(parent):  # dict[str, Model] / list[Model]: skip the key or index
            index += 1
        candidates = [a for a in (*args, annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = candidates[0] if candidates else None
    return list(model.model_fields) if model is not None else []


def secret_file_origin(
    channel: str, key: str, root: Path, lines: dict[tuple[str, ...], int], shown: str
) -> str:
    """Where ``channels.CHANNEL.KEY_file`` was set: a variable of the environment or ``.env``, or a line."""
    loc = ["channels", channel, f"{key}_file"]
    env_file = root / ".env"
    origin = env_origin(loc, env_file if env_file.is_file() else None)
    if origin is not None:
        return origin
    line = find_line(lines, loc)
    return f"{shown}:{line}" if line else shown


def secret_files(settings: Settings, root: Path) -> Iterator[tuple[str, str, Path]]:
    """``(channel, key, path)`` for each secret a channel names a ``<key>_file`` for and does not set itself
    (a relative path is relative to the workspace ``root``)."""
    for name, channel in settings.channels.items():
        for key in SECRET_KEYS:
            file_name = getattr(channel, f"{key}_file")
            if file_name is None or getattr(channel, key) is not None:
                continue
            path = Path(file_name).expanduser()
            yield name, key, path if path.is_absolute() else root / path


def read_secret_files(settings: Settings, root: Path, text: str, shown: str) -> None:
    """Fill each secret from its ``<key>_file`` (relative to the workspace) where the secret is not set."""
    updates: dict[str, dict[str, SecretStr]] = {}
    for name, key, path in secret_files(settings, root):
        try:
            secret = SecretStr(path.read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError) as exc:
            where = secret_file_origin(name, key, root, toml_key_lines(text), shown)
            why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            raise ConfigError(
                f"channels.{name}.{key}_file ({where}): cannot read {path}: {why}",
                hint=f"create the file, or set {secret_env_var(name, key)} instead",
            ) from None
        updates.setdefault(name, {})[key] = secret
    for name, update in updates.items():
        settings.channels[name] = settings.channels[name].model_copy(update=update)


__all__ = [
    "CONFIG_ENV",
    "CONFIG_RELATIVE",
    "ChannelSettings",
    "Workspace",
    "display_path",
    "find_workspace",
    "load_workspace",
    "workspace_root",
]
