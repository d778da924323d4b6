"""Where a channel's secrets come from, and how to tell a person to set one (never through the TOML file).

Which keys a network's credentials are is the adapter's to say (:attr:`Adapter.secrets
<scheduler.adapters.base.Adapter.secrets>`, read through the entry point, third-party adapters too);
:func:`secret_env_var` is the one place the variable name is built.
"""

from __future__ import annotations


def secret_env_var(channel: str, key: str) -> str:
    """``secret_env_var("bsky", "password")`` -> ``TAGCAST_CHANNELS__BSKY__PASSWORD``."""
    return f"TAGCAST_CHANNELS__{channel.upper()}__{key.upper()}"


def secret_keys(network: str) -> tuple[str, ...]:
    """The secret keys of ``network``'s adapter (``()`` for a network without secrets or without an installed
    adapter): ``secret_keys("bluesky") == ("password",)``."""
    from scheduler.adapters.registry import installed, load_adapter  # noqa: PLC0415 (adapters sit above)

    name = network.strip().lower()
    return load_adapter(name).secrets if name in installed() else ()


def secret_hint(channel: str, key: str) -> str:
    """What to do instead of writing a secret into ``config/tagcast.toml``."""
    return (
        f"secrets never go into tagcast.toml: set {secret_env_var(channel, key)} in the environment "
        f"or in the workspace's .env file, or put the secret in a file and set channels.{channel}.{key}_file "
        "to its path"
    )
