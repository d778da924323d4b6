"""Cross-references in the config that pydantic cannot see: names that must resolve, zones that must exist."""

from __future__ import annotations

from collections.abc import Callable

from scheduler.config.settings import Settings
from scheduler.errors import ConfigError
from scheduler.safe_text import shown


def reference_problems(
    settings: Settings,
    *,
    known_networks: list[str],
    template_exists: Callable[[str], bool] | None = None,
) -> list[str]:
    """Every dangling name in ``settings``, one line each, saying how to fix it."""
    problems: list[str] = []
    channels = settings.channels
    schedules = settings.schedules

    def channel_ref(key: str, name: str) -> None:
        if name not in channels:
            problems.append(
                f"{key}: no channel named '{shown(name)}' "
                f"(configured: {', '.join(sorted(channels)) or 'none'}); "
                f"add [channels.{shown(name)}] or fix the name"
            )

    def schedule_ref(key: str, name: str | None) -> None:
        if name is not None and name not in schedules:
            problems.append(
                f"{key}: no schedule named '{shown(name)}' (configured: {', '.join(sorted(schedules))}); "
                f"add [schedules.{shown(name)}] or fix the name"
            )

    def template_ref(key: str, name: str | None) -> None:
        if name is not None and template_exists is not None and not template_exists(name):
            problems.append(
                f"{key}: no template '{shown(name)}' in config/templates/ or the built-in templates"
            )

    for name, channel in channels.items():
        if channel.network not in known_networks:
            problems.append(
                f"channels.{name}.network: unknown network '{channel.network}' "
                f"(installed adapters: {', '.join(known_networks)})"
            )
        schedule_ref(f"channels.{name}.schedule", channel.schedule)
        template_ref(f"channels.{name}.template", channel.template)
    for index, rule in enumerate(settings.rules):
        label = f"rules[{index}]" + (f" ({rule.name})" if rule.name else "")
        for name in rule.channels:
            channel_ref(f"{label}.channels", name)
        schedule_ref(f"{label}.schedule", rule.schedule)
        template_ref(f"{label}.template", rule.template)
    for name in settings.defaults.channels:
        channel_ref("defaults.channels", name)
    for name in settings.alerts.channels:
        channel_ref("alerts.channels", name)
    schedule_ref("defaults.schedule", settings.defaults.schedule)
    return problems


def raise_for_problems(problems: list[str], config: str) -> None:
    if problems:
        raise ConfigError(f"{config} refers to things that do not exist", problems=problems)
