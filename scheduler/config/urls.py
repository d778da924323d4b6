"""URLs in the config, checked when the config is read (not when the first post is sent). Messages never echo
the URL: it may hold a password or a token."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from scheduler.config.names import home_folder

_DATABASE = re.compile(r"[A-Za-z][A-Za-z0-9+_]*://\S*")


def check_http_url(value: str) -> str:
    """``value`` when it is an absolute http(s) URL with a host; else a ValueError saying what is missing."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        raise ValueError("is not a URL; write it like https://mastodon.social") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with https:// (or http://), e.g. https://mastodon.social")
    if not host or any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("is not a URL with a host name; write it like https://mastodon.social")
    return value


def check_database_url(value: str) -> str:
    """``value`` when it looks like a SQLAlchemy URL (``dialect+driver://...``); the store parses it fully."""
    if not _DATABASE.fullmatch(value.strip()) or not value.isprintable():
        raise ValueError(
            "is not a database URL; write it like sqlite:///var/tagcast.db or "
            "postgresql+psycopg://user@host/db (the password from the environment)"
        )
    if value.startswith("sqlite:///~"):
        home_folder(value.removeprefix("sqlite:///"))
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
DatabaseUrl = Annotated[str, AfterValidator(check_database_url)]
