"""Where the workspace is: the config file named by ``--config`` or ``$TAGCAST_CONFIG``, else the first
``config/tagcast.toml`` found upwards, and the workspace folder it belongs to. Plain Python (no pydantic),
so that the quick queue commands find the workspace the same way as every other command."""

from __future__ import annotations

import os
from pathlib import Path

from scheduler.errors import ConfigError

CONFIG_RELATIVE = Path("config") / "tagcast.toml"
CONFIG_ENV = "TAGCAST_CONFIG"


def display_path(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def find_workspace(config: str | Path | None = None, *, cwd: Path | None = None) -> Path:
    """The config file: ``config`` (a file or a workspace folder), else ``$TAGCAST_CONFIG``, else the first
    ``config/tagcast.toml`` found from ``cwd`` upwards."""
    start = (cwd or Path.cwd()).resolve()
    named = config if config is not None else os.environ.get(CONFIG_ENV) or None
    if named is not None:
        candidate = Path(named).expanduser()
        if not candidate.is_absolute():
            candidate = start / candidate
        if candidate.is_dir():
            candidate = candidate / CONFIG_RELATIVE
        if not candidate.is_file():
            raise ConfigError(
                f"no config file at {candidate}",
                hint="pass the path of a tagcast.toml or of a workspace folder, or run `tagcast init` there",
            )
        return candidate
    for folder in (start, *start.parents):
        if (folder / CONFIG_RELATIVE).is_file():
            return folder / CONFIG_RELATIVE
    raise ConfigError(
        f"no {CONFIG_RELATIVE.as_posix()} in {start} or any folder above it",
        hint="run tagcast inside a workspace, pass --config PATH, or create one with `tagcast init`",
    )


def workspace_root(config_path: Path) -> Path:
    """``ws/config/tagcast.toml`` -> ``ws``; a config file elsewhere -> its own folder."""
    parent = config_path.parent
    return parent.parent if parent.name == "config" else parent
