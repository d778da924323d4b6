"""A channel's own image limits: its network's (``Adapter.media_limits``) lowered by the channel's keys.

A server may take less than its network's defaults (a Mastodon instance with a smaller
``image_size_limit``, fewer ``max_media_attachments``); its channel then says so in config, and the images of
its posts are fitted to that, in preview and at send time alike (no network call: preview shows what is sent).
An adapter that honours the keys applies :func:`lowered_limits` in its ``channel_media_limits``::

    [channels.masto]
    network = "mastodon"
    image_max_bytes = 8388608

The keys only lower: a value above what the network takes is a config error naming the key and the most it
may be (not clamped: a value the user believes in but tagcast ignores would hide a misread of the server).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from scheduler.config.models import ChannelSettings
from scheduler.errors import ConfigError
from scheduler.media.model import MediaLimits

LIMIT_KEYS: dict[str, str] = {
    "max_images": "max_images",
    "image_max_bytes": "max_bytes",
    "image_max_pixels": "max_pixels",
    "alt_max": "alt_max",
}
"""Channel key -> the :class:`MediaLimits` field it lowers (``image_types`` narrows ``mimes``)."""


class ChannelLimitsError(ConfigError):
    """A channel's image keys ask for more than its network takes: ``wrong`` holds ``(key, why)`` each."""

    def __init__(self, wrong: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{key} = {why}" for key, why in wrong))
        self.wrong = wrong


def lowered_limits(
    limits: MediaLimits | None, settings: ChannelSettings, *, network: str
) -> MediaLimits | None:
    """``limits`` with the channel's ``max_images``, ``image_max_bytes``, ``image_max_pixels``, ``alt_max``
    and ``image_types`` applied; raises :class:`ChannelLimitsError` when one is above the network's own."""
    if limits is None:
        return None
    changes: dict[str, Any] = {}
    wrong: list[tuple[str, str]] = []
    for key, field in LIMIT_KEYS.items():
        value = getattr(settings, key)
        own = getattr(limits, field)
        if value is None or (field == "alt_max" and own is None):  # no alt text field: nothing to bound
            continue
        if own is not None and value > own:
            wrong.append(
                (key, f"{value} is more than {network} takes ({own}); set at most {own}, or remove it")
            )
        else:
            changes[field] = value
    if settings.image_types is not None:
        refused = [mime for mime in settings.image_types if mime not in limits.mimes]
        if refused:
            takes = ", ".join(limits.mimes)
            wrong.append(
                (
                    "image_types",
                    f"{settings.image_types} names what {network} does not take "
                    f"({', '.join(refused)}); it takes {takes}",
                )
            )
        else:
            changes["mimes"] = tuple(dict.fromkeys(settings.image_types))
    if wrong:
        raise ChannelLimitsError(wrong)
    return dataclasses.replace(limits, **changes) if changes else limits


def lowering_keys(
    limits: MediaLimits, settings: ChannelSettings, network_limits: MediaLimits | None
) -> dict[str, str]:
    """Which of ``limits`` (a channel's, from ``channel_media_limits``) the channel's keys set below its
    network's own ``network_limits`` (``Adapter.media_limits``): :class:`MediaLimits` field -> key, e.g.
    ``{"max_images": "max_images", "max_bytes": "image_max_bytes"}``. A key the adapter ignores, or set to
    the network's own figure, is not there: the limit is then the network's, and said so."""
    if network_limits is None:
        return {}
    return {
        field: key
        for key, field in LIMIT_KEYS.items()
        if getattr(settings, key) is not None
        and getattr(limits, field) == getattr(settings, key) != getattr(network_limits, field)
    }
