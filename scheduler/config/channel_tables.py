"""Add and remove ``[channels.NAME]`` tables in the text of ``config/tagcast.toml``, keeping everything else.

Like :mod:`scheduler.config.edit`, these only compute the new text; the caller validates and writes it.
"""

from __future__ import annotations

import tomllib
from typing import Any

import tomlkit

from scheduler.config import toml_doc
from scheduler.config.edit import Change, parse_document, settable
from scheduler.config.keys import KeyInfo, dotted
from scheduler.config.locate import find_line, toml_key_lines
from scheduler.config.names import name_problem
from scheduler.config.values import InvalidValue, parse_value
from scheduler.errors import ConfigError


def add_channel(
    text: str, name: str, network: str, pairs: list[tuple[str, str]], *, shown: str = "config/tagcast.toml"
) -> Change:
    """The text with a new ``[channels.NAME]`` (``network`` plus ``key=value`` pairs read by each key's type),
    placed after the last channel."""
    problem = name_problem(name, "channel")
    if problem is not None:
        raise ConfigError(
            problem,
            hint="the name is part of a folder (var/outbox/NAME), of log lines and of environment variables "
            f"such as TAGCAST_CHANNELS__BSKY__PASSWORD; {shown} was not changed",
        )
    doc = parse_document(text, shown)
    channels = doc.get("channels")
    if channels is not None and name in channels:
        raise ConfigError(
            f"channel '{name}' already exists in {shown}",
            hint=f"change it with `tagcast config set channels.{name}.KEY VALUE`, or pick another name",
        )
    values: list[tuple[KeyInfo, Any]] = [(settable(f"channels.{name}.network"), network.strip().lower())]
    for key, raw in pairs:
        info = settable(f"channels.{name}.{key}")
        if info.path[-1] == "network":
            raise ConfigError("give the network with --network, not --set network=...")
        try:
            values.append((info, parse_value(info, raw)))
        except InvalidValue as exc:
            raise ConfigError(str(exc), hint=f"{shown} was not changed") from None
    for info, value in values:
        toml_doc.set_value(doc, info.path, value)
    new = tomlkit.dumps(doc)
    line = find_line(toml_key_lines(new), ["channels", name])
    return Change(text=new, key=f"channels.{name}", line=line, changed=True)


def channel_users(text: str, name: str, *, shown: str = "config/tagcast.toml") -> list[str]:
    """Where ``name`` is used (rules sending to it, ``defaults.channels``), one line each, with TOML line."""
    data = tomllib.loads(text)
    lines = toml_key_lines(text)
    users = []
    for index, rule in enumerate(data.get("rules", [])):
        if name in rule.get("channels", []):
            label = f"rules[{index}]" + (f" ({rule['name']})" if rule.get("name") else "")
            line = find_line(lines, ["rules", str(index), "channels"])
            users.append(f"{label} ({shown}:{line}) sends to it")
    if name in data.get("defaults", {}).get("channels", []):
        line = find_line(lines, ["defaults", "channels"])
        users.append(f"defaults.channels ({shown}:{line}) names it")
    return users


def remove_channel(
    text: str, name: str, *, drop_rules: bool = False, shown: str = "config/tagcast.toml"
) -> tuple[Change, list[str]]:
    """The text without ``[channels.NAME]``, and what else changed.

    Refuses while rules or ``defaults.channels`` name the channel; with ``drop_rules`` the channel is taken
    out of them, and a rule left with no channel is deleted.
    """
    doc = parse_document(text, shown)
    channels = doc.get("channels")
    if channels is None or name not in channels:
        known = ", ".join(channels) if channels is not None else "none"
        raise ConfigError(
            f"no [{dotted(['channels', name])}] in {shown}", hint=f"channels in the file: {known}"
        )
    users = channel_users(text, name, shown=shown)
    if users and not drop_rules:
        raise ConfigError(
            f"channel '{name}' is still in use",
            problems=users,
            hint="take it out of those first, or run again with --drop-rules: it is then removed from them, "
            "and a rule left with no channel is deleted",
        )
    notes: list[str] = []
    data = tomllib.loads(text)
    for index in reversed(range(len(data.get("rules", [])))):
        rule = data["rules"][index]
        channels_of_rule = rule.get("channels", [])
        if name not in channels_of_rule:
            continue
        label = f"rules[{index}]" + (f" ({rule['name']})" if rule.get("name") else "")
        remaining = [channel for channel in channels_of_rule if channel != name]
        if remaining:
            toml_doc.set_value(doc, ["rules", index, "channels"], remaining)
            notes.append(f"{label}: '{name}' taken out of its channels")
        else:
            toml_doc.remove(doc, ["rules", index])
            notes.append(f"{label}: deleted, it had no other channel")
    defaults = data.get("defaults", {}).get("channels", [])
    if name in defaults:
        toml_doc.set_value(doc, ["defaults", "channels"], [c for c in defaults if c != name])
        notes.append(f"defaults.channels: '{name}' taken out")
    toml_doc.remove(doc, ["channels", name])
    new = tomlkit.dumps(doc)
    if new.endswith("\n\n") and not text.endswith("\n\n"):
        new = new.rstrip("\n") + "\n"
    return Change(text=new, key=f"channels.{name}", line=None, changed=True), list(reversed(notes))
