"""Where a channel's secrets come from, and how to tell a person to set one (never through the TOML file)."""

from __future__ import annotations

NETWORK_SECRETS: dict[str, tuple[str, ...]] = {
    "mastodon": ("token",),
    "bluesky": ("password",),
    "x": ("api_key", "api_secret", "access_token", "access_token_secret"),
    "threads": ("token",),
    "linkedin": ("token",),
    "facebook": ("token",),
    "telegram": ("bot_token",),
    "discord": ("webhook_url",),
    "slack": ("webhook_url",),
    "webhook": ("secret",),
}
"""The secret keys each built-in network needs (x may use ``oauth2_token`` instead of the OAuth 1.0a four)."""


def secret_env_var(channel: str, key: str) -> str:
    """``secret_env_var("bsky", "password")`` -> ``TAGCAST_CHANNELS__BSKY__PASSWORD``."""
    return f"TAGCAST_CHANNELS__{channel.upper()}__{key.upper()}"


def secret_hint(channel: str, key: str) -> str:
    """What to do instead of writing a secret into ``config/tagcast.toml``."""
    return (
        f"secrets never go into tagcast.toml: set {secret_env_var(channel, key)} in the environment "
        f"or in the workspace's .env file, or put the secret in a file and set channels.{channel}.{key}_file "
        "to its path"
    )
