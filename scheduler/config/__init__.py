"""Configuration: ``config/tagcast.toml`` validated by pydantic-settings, with ``.env`` and ``TAGCAST_*``
overrides."""

from __future__ import annotations

from scheduler.config.loader import Workspace, find_workspace, load_workspace
from scheduler.config.models import ChannelSettings, RuleSettings, ScheduleSettings
from scheduler.config.settings import Settings

__all__ = [
    "ChannelSettings",
    "RuleSettings",
    "ScheduleSettings",
    "Settings",
    "Workspace",
    "find_workspace",
    "load_workspace",
]
