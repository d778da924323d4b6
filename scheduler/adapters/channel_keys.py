"""Which keys of ``[channels.NAME]`` a network uses, so that a key it ignores is said, not silently dropped.

:class:`~scheduler.config.models.ChannelSettings` is one model for every network. Each adapter class declares
the keys it reads in :attr:`~scheduler.adapters.base.Adapter.settings_keys`; with the keys every channel has
(:data:`EVERY_CHANNEL_KEYS`) and the adapter's ``secrets`` they are the keys its channels may set::

    >>> from scheduler.adapters.registry import load_adapter
    >>> from scheduler.config.models import ChannelSettings
    >>> unused_keys(load_adapter("bluesky"), ChannelSettings(network="bluesky", chat_id="42"))
    ['chat_id']

An adapter that declares nothing (``settings_keys = None``, a third-party one written before the attribute)
is not checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.config.models import SECRET_KEYS, ChannelSettings

if TYPE_CHECKING:
    from scheduler.adapters.base import Adapter

EVERY_CHANNEL_KEYS: frozenset[str] = frozenset(
    {
        "network",  # the registry: which adapter
        "enabled",  # routing and the dispatcher
        "schedule",  # planning
        "template",  # rendering
        "thread",  # fitting (scheduler.compose)
        "max_parts",  # fitting
        "max_hashtags",  # composing
        "limit",  # Adapter.length_rules
        "request_deadline",  # Adapter.guard
        "max_response_bytes",  # Adapter.guard
        "require_alt",  # scheduler.media.prepare
        "link_card",  # scheduler.media.cards (a network that builds its own card needs none)
        "options",  # free-form extras, each adapter reads its own
    }
)
"""Channel keys that the pipeline, the dispatcher or the base :class:`~scheduler.adapters.base.Adapter` read
for a channel of any network: no adapter declares them. The one list of them."""


def declared_keys(adapter: type[Adapter]) -> frozenset[str] | None:
    """The channel keys a channel of ``adapter``'s network may set, or None when the adapter declares none.

    Those every channel has, the adapter's :attr:`~scheduler.adapters.base.Adapter.settings_keys` and
    ``secrets``, and the ``<key>_file`` form of each secret among them."""
    if adapter.settings_keys is None:
        return None
    return EVERY_CHANNEL_KEYS | own_keys(adapter)


def own_keys(adapter: type[Adapter]) -> frozenset[str]:
    """The keys ``adapter`` declares itself (not those of every channel), ``_file`` forms included; empty when
    it declares none."""
    own = (adapter.settings_keys or frozenset()) | frozenset(adapter.secrets)
    return own | {f"{key}_file" for key in own if key in SECRET_KEYS}


def unused_keys(adapter: type[Adapter], settings: ChannelSettings) -> list[str]:
    """The keys ``settings`` sets (in the file, ``.env`` or the environment) that ``adapter``'s network does
    not use, in the model's order; none when the adapter declares nothing."""
    declared = declared_keys(adapter)
    if declared is None:
        return []
    given = settings.model_fields_set
    return [key for key in ChannelSettings.model_fields if key in given and key not in declared]
