"""The documented opt-in for fake servers on loopback: ``[media] private_addresses = "allow"``.

Link pages and https images at a private, loopback or link-local address are refused by default
(:mod:`scheduler.media.addresses`); every test whose fake site runs on 127.0.0.1 opts in as a user on an
intranet would: ``ALLOW_TOML`` in its workspace config, or :func:`allow_private` where it builds the parts.
"""

from __future__ import annotations

from scheduler.config.settings import Settings
from scheduler.media.addresses import AddressPolicy

ALLOW_TOML = '\n[media]\nprivate_addresses = "allow"\n'


def allow_private() -> AddressPolicy:
    """The address policy of a config with ``[media] private_addresses = "allow"``."""
    return AddressPolicy.of(Settings(media={"private_addresses": "allow"}))  # type: ignore[arg-type]
