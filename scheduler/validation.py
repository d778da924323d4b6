"""Validate a whole config text and list every problem at once: TOML syntax, keys and types, names that do not
resolve, schedules that cannot produce slots, templates that do not compile, secret files that are missing.

``tagcast config validate``, ``config set``/``unset``/``edit``, ``channels add``/``remove`` and the service's
reload all use :func:`validate_config_text`, so a config that one accepts, all accept::

    settings = validate_config_text(path.read_text(encoding="utf-8"), root=workspace_root(path))

Each problem is one line, ``key (config/tagcast.toml:12): what is wrong; how to fix it``. A warning has the
same shape: a key that does nothing (a channel key its network does not use) is a warning, not a problem.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError

from scheduler import safe_text
from scheduler.adapters.channel_keys import own_keys, unused_keys
from scheduler.adapters.registry import known_networks, load_adapter
from scheduler.checks import reference_problems
from scheduler.config.atomic import atomic_write_text
from scheduler.config.credentials import secret_env_var
from scheduler.config.env_origin import dotenv_problems, env_name, env_origin
from scheduler.config.keys import UnknownKey, allowed, resolve_key
from scheduler.config.loader import (
    Workspace,
    describe_error,
    read_secret_files,
    secret_file_origin,
    secret_files,
)
from scheduler.config.locate import find_line, toml_key_lines
from scheduler.config.settings import Settings, build_settings
from scheduler.errors import ConfigError, TemplateError, UserError
from scheduler.media.channel_limits import ChannelLimitsError
from scheduler.planning import build_schedules
from scheduler.render import TemplateRenderer, resolve_template_name

_PRUNED = "\x00pruned"
_PRUNED_MARKS = (_PRUNED, safe_text.shown(_PRUNED))
"""A rule set aside for a bad value names this channel; a problem naming it (raw, or escaped as messages
show names) is a consequence, not news."""
_PROBLEM_KEY = re.compile(r"^([^\s:]+(?: \([^)]*\))?(?:\.[^\s:]+)?): ")


@dataclass
class ConfigReport:
    """The outcome of :func:`check_config_text`: the settings (``None`` when they could not be built even
    after setting invalid values aside) and every problem found."""

    settings: Settings | None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What is valid but likely a mistake: a channel key its network does not use
    (:func:`unused_key_warnings`). Warnings never make a config invalid (``ok`` ignores them)."""

    @property
    def ok(self) -> bool:
        return self.settings is not None and not self.problems


def validate_config_text(text: str, root: Path, *, shown: str = "config/tagcast.toml") -> Settings:
    """The settings of a config text (with ``root/.env``, the environment and secret files applied), or a
    ConfigError listing every problem. ``root`` is the workspace folder; ``shown`` names the file in messages.

    This is the one check before any config is used or written: the service calls it before applying a
    changed file, and keeps the old settings when it raises.
    """
    report = check_config_text(text, root, shown=shown)
    if report.settings is None or report.problems:
        raise ConfigError(
            f"{shown} has {len(report.problems)} problem(s)",
            problems=report.problems,
            hint="fix them in the file (`tagcast config edit`), then run `tagcast config validate`",
        )
    read_secret_files(report.settings, root, text, shown)
    return report.settings


def save_config_text(path: Path, text: str, root: Path, *, shown: str) -> Settings:
    """Validate ``text`` completely, then replace ``path`` with it atomically; on any problem the file is
    left exactly as it was and ConfigError lists the problems."""
    settings = validate_config_text(text, root, shown=shown)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {shown}: {exc.strerror or exc}",
            hint="check that the config folder is writable by you; the file was not changed",
        ) from None
    return settings


def check_config_text(text: str, root: Path, *, shown: str = "config/tagcast.toml") -> ConfigReport:
    """Every problem of a config text, without raising."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return ConfigReport(None, [f"{shown} is not valid TOML: {exc}; fix the syntax at that line"])
    env_file = root / ".env"
    env_problems, readable = dotenv_problems(env_file if env_file.is_file() else None)
    if not readable:
        return ConfigReport(None, env_problems)
    settings, problems = _build(data, text, shown, str(env_file) if env_file.is_file() else None)
    problems = env_problems + problems
    if settings is None:
        return ConfigReport(None, problems)
    lines = toml_key_lines(text)
    later = reference_problems(
        settings,
        known_networks=known_networks(),
        template_exists=TemplateRenderer(_template_dir(settings, root)).exists,
    )
    later += _schedule_problems(settings)
    later += _media_limit_problems(settings)
    env = str(env_file) if env_file.is_file() else None
    problems += [
        _with_line(p, lines, shown, env) for p in later if not any(mark in p for mark in _PRUNED_MARKS)
    ]
    problems += _template_problems(settings, root)
    problems += _secret_file_problems(settings, root, lines, shown)
    return ConfigReport(
        settings,
        list(dict.fromkeys(p.replace("\n  hint: ", "; ") for p in problems)),
        unused_key_warnings(settings, lines, shown, env),
    )


def _template_dir(settings: Settings, root: Path) -> Path:
    folder = Path(settings.defaults.templates).expanduser()
    return folder if folder.is_absolute() else root / folder


def _build(
    data: dict[str, Any], text: str, shown: str, env_file: str | None
) -> tuple[Settings | None, list[str]]:
    """Build settings; invalid values are reported, set aside and the rest validated again, so that one typo
    does not hide the problems behind it."""
    problems: list[str] = []
    for _ in range(5):
        try:
            return build_settings(data, env_file), problems
        except ValidationError as exc:
            errors = exc.errors()
            problems += [_explain(err, text, shown, env_file) for err in errors]
            if not all(_set_aside(data, err, env_file) for err in errors):
                return None, problems
    return None, problems


def _explain(err: Any, text: str, shown: str, env_file: str | None = None) -> str:
    line = describe_error(err, text, shown, env_file=env_file).replace("Value error, ", "", 1)
    if err["type"] in ("extra_forbidden", "missing"):
        return line + ("; add it" if err["type"] == "missing" else "; remove it or fix its name")
    try:
        info = resolve_key([str(p) for p in err["loc"]])
    except (UnknownKey, IndexError):
        return line
    return f"{line}; expected {allowed(info, in_file=env_origin(err['loc'], env_file) is None)}"


def _set_aside(data: dict[str, Any], err: Any, env_file: str | None) -> bool:
    """Remove the invalid value from ``data`` (a broken channel or rule becomes a harmless stand-in);
    False when it cannot be (it comes from the environment, or concerns the whole file)."""
    loc = list(err["loc"])
    if env_origin(loc, env_file) is not None:
        return False
    if loc and loc[-1] == "[key]":  # a name that cannot be used: its whole table is set aside
        loc = loc[:-1]
    if not loc or _from_environment(loc, env_file):
        return False
    parents: list[Any] = [data]
    node: Any = data
    for part in loc:
        found = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        )
        if not found:
            break
        node = node[part]
        parents.append(node)
    depth = len(parents) - 1
    if depth == 0:
        return False
    if depth < len(loc) or err["type"] == "missing":
        return _stand_in(parents, loc, depth)
    for index in range(depth, 0, -1):
        if isinstance(parents[index - 1], dict):
            del parents[index - 1][loc[index - 1]]
            return True
    return False


def _stand_in(parents: list[Any], loc: list[Any], depth: int) -> bool:
    """A missing key inside a channel or rule: replace the whole entry so that names still resolve."""
    if depth >= 2 and loc[0] == "channels":
        parents[1][loc[1]] = {"network": "file"}
        return True
    if depth >= 2 and loc[0] == "rules":
        parents[1][loc[1]] = {"channels": [_PRUNED]}
        return True
    container = parents[depth - 1]
    if isinstance(container, dict):
        del container[loc[depth - 1]]
        return True
    return False


def _from_environment(loc: list[Any], env_file: str | None) -> bool:
    names = {env_name(loc[:size]) for size in range(1, len(loc) + 1)}
    present = {name.upper() for name in os.environ}
    if env_file:
        present |= {name.upper() for name in dotenv_values(env_file)}
    return bool(names & present)


def _schedule_problems(settings: Settings) -> list[str]:
    try:
        build_schedules(settings)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def _media_limit_problems(settings: Settings) -> list[str]:
    """A channel's image keys above what its network takes (``image_max_bytes`` on Mastodon, ...)."""
    problems: list[str] = []
    for name, channel in settings.channels.items():
        try:
            load_adapter(channel.network).channel_media_limits(channel)
        except ChannelLimitsError as exc:
            problems += [f"channels.{name}.{key}: {why}" for key, why in exc.wrong]
        except UserError:  # an unknown network: reported with the other names
            continue
    return problems


def unused_key_warnings(
    settings: Settings, lines: dict[tuple[str, ...], int], shown: str, env_file: str | None = None
) -> list[str]:
    """A warning for each channel key that the channel's network does not use (its adapter's
    ``settings_keys``, :mod:`scheduler.adapters.channel_keys`), naming the networks that do, in file order::

        channels.bsky.chat_id (tagcast.toml:9): bluesky does not use this key (telegram does); remove it

    A warning, not a problem: the key does no harm, and a problem would make ``tagcast serve`` refuse to
    reload, and ``config set`` refuse to write, a config that worked before this check existed. Nothing is
    said for an unknown network (a problem already) or an adapter that declares no keys."""
    found: list[tuple[int, str]] = []
    users: dict[str, list[str]] | None = None  # key -> the networks that use it, read once if needed
    for name, channel in settings.channels.items():
        try:
            adapter = load_adapter(channel.network)
        except UserError:
            continue
        for key in unused_keys(adapter, channel):
            users = _key_users() if users is None else users
            loc = ["channels", name, key]
            origin = env_origin(loc, env_file)
            line = find_line(lines, loc)
            where = origin or (f"{shown}:{line}" if line else shown)
            found.append(
                (
                    line or sys.maxsize,  # a value from the environment: after those of the file
                    f"channels.{name}.{key} ({where}): {channel.network} does not use this key "
                    f"({_said(users.get(key, []))}); remove it",
                )
            )
    return [warning for _, warning in sorted(found, key=lambda item: item[0])]


def workspace_warnings(workspace: Workspace) -> list[str]:
    """The warnings ``tagcast config validate`` gives for a loaded workspace's config (what ``tagcast serve``
    logs when it starts and when it reloads its config)."""
    env_file = workspace.root / ".env"
    return unused_key_warnings(
        workspace.settings,
        toml_key_lines(workspace.toml_text),
        workspace.display_config,
        str(env_file) if env_file.is_file() else None,
    )


def _key_users() -> dict[str, list[str]]:
    """Each channel key an installed network declares -> those networks, in name order."""
    users: dict[str, list[str]] = {}
    for network in known_networks():
        try:
            adapter = load_adapter(network)
        except Exception:  # a broken package of another network: reported where that network is used
            continue
        for key in own_keys(adapter):
            users.setdefault(key, []).append(network)
    return users


def _said(users: list[str]) -> str:
    """``mastodon does``, ``linkedin and x do``, or ``no installed network does``."""
    if not users:
        return "no installed network does"
    if len(users) == 1:
        return f"{users[0]} does"
    return f"{', '.join(users[:-1])} and {users[-1]} do"


def _with_line(
    problem: str, lines: dict[tuple[str, ...], int], shown: str, env_file: str | None = None
) -> str:
    """``rules[0] (x).channels: ...`` -> ``rules[0] (x).channels (config/tagcast.toml:40): ...`` (or
    ``(from .env line 3: TAGCAST_...)`` when the value comes from there)."""
    match = _PROBLEM_KEY.match(problem)
    if match is None:
        return problem
    key = match.group(1)
    path = re.sub(r"\[(\d+)\]", r".\1", re.sub(r" \([^)]*\)", "", key)).split(".")
    origin = env_origin(path, env_file)
    if origin is not None:
        return f"{key} ({origin}): {problem[match.end() :]}"
    line = find_line(lines, path)
    return f"{key} ({shown}:{line}): {problem[match.end() :]}" if line else problem


def _template_problems(settings: Settings, root: Path) -> list[str]:
    folder = _template_dir(settings, root)
    renderer = TemplateRenderer(folder)
    names: list[str] = (
        sorted(p.relative_to(folder).as_posix() for p in folder.glob("**/*.j2")) if folder.is_dir() else []
    )
    for channel in settings.channels.values():
        names.append(resolve_template_name(renderer, explicit=None, network=channel.network))
        names.extend(t for t in (channel.template,) if t and renderer.exists(t))
    names.extend(rule.template for rule in settings.rules if rule.template and renderer.exists(rule.template))
    problems = []
    for name in dict.fromkeys(names):
        try:
            renderer.check(name)
        except TemplateError as exc:
            message = str(exc).replace("\n  hint: ", "; ").replace(f"{root.resolve()}{os.sep}", "")
            problems.append(message.replace(f"{root}{os.sep}", ""))
    return problems


def _utf8(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return True


def _secret_file_problems(
    settings: Settings, root: Path, lines: dict[tuple[str, ...], int], shown: str
) -> list[str]:
    problems = []
    for name, key, path in secret_files(settings, root):
        if not os.access(path, os.R_OK) or not path.is_file() or not _utf8(path):
            where = secret_file_origin(name, key, root, lines, shown)
            problems.append(
                f"channels.{name}.{key}_file ({where}): cannot read {path} as UTF-8 text; "
                f"create that file, or set {secret_env_var(name, key)} instead"
            )
    return problems
