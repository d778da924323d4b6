"""Configuration: ``config/tagcast.toml`` validated by pydantic-settings, with ``.env`` and ``TAGCAST_*``
overrides.

The names below are imported when first used (they bring pydantic), so that importing a light module of
this package (:mod:`scheduler.config.paths`) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.lazy import lazy_names

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace, find_workspace, load_workspace
    from scheduler.config.models import ChannelSettings, RuleSettings, ScheduleSettings
    from scheduler.config.settings import Settings

_FROM = {
    "Workspace": "scheduler.config.loader",
    "find_workspace": "scheduler.config.loader",
    "load_workspace": "scheduler.config.loader",
    "ChannelSettings": "scheduler.config.models",
    "RuleSettings": "scheduler.config.models",
    "ScheduleSettings": "scheduler.config.models",
    "Settings": "scheduler.config.settings",
}


__getattr__ = lazy_names(__name__, _FROM, globals())


__all__ = [
    "ChannelSettings",
    "RuleSettings",
    "ScheduleSettings",
    "Settings",
    "Workspace",
    "find_workspace",
    "load_workspace",
]
