"""Adapters are found through the ``tagcast.adapters`` entry-point group, built-ins included, loaded
lazily."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from scheduler.adapters.base import Adapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import UnknownNetwork
from scheduler.length import LengthRules

GROUP = "tagcast.adapters"


@cache
def installed() -> dict[str, EntryPoint]:
    """Every registered adapter by network name (not imported yet)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def known_networks() -> list[str]:
    return sorted(installed())


def load_adapter(network: str) -> type[Adapter]:
    """Import the adapter class for ``network``; UnknownNetwork lists the installed ones."""
    entry = installed().get(network)
    if entry is None:
        raise UnknownNetwork(
            f"no adapter for network '{network}'",
            hint=f"installed adapters: {', '.join(known_networks()) or 'none'}; "
            "a third-party adapter appears here once its package is pip-installed",
        )
    return _adapter_class(entry)


@cache
def _adapter_class(entry: EntryPoint) -> type[Adapter]:
    """The class ``entry`` names, imported and checked once: the send path asks for it for every post."""
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownNetwork(
            f"the adapter registered as '{entry.name}' ({entry.value}) is not a "
            "scheduler.adapters.base.Adapter",
            hint="fix or uninstall the package that provides it",
        )
    return cls


def rules_for(network: str, *, limit: int | None = None, spoiler_text: str = "") -> LengthRules:
    """The length rules of ``network``'s adapter for a channel with ``limit`` and ``spoiler_text`` set (or
    not): :meth:`Adapter.length_rules`, as the pipeline asks it. UnknownNetwork when no adapter is installed.

    >>> rules_for("x").limit, rules_for("mastodon", limit=1000).limit
    (280, 1000)
    """
    settings = ChannelSettings.model_validate(
        {"network": network, "limit": limit, "spoiler_text": spoiler_text or None}
    )
    return load_adapter(network).length_rules(settings)
