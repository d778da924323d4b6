"""OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849, section 3), as the X API expects it.

Only query parameters and ``application/x-www-form-urlencoded`` body parameters are signed; a JSON body (X API
v2) is not part of the signature::

    header = authorization_header(
        "POST", "https://api.x.com/2/tweets", credentials=Credentials(key, secret, token, token_secret)
    )
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class Credentials:
    """The consumer (API key and secret) and the user's access token and secret."""

    consumer_key: str
    consumer_secret: str
    token: str
    token_secret: str

    def __repr__(self) -> str:
        return "Credentials(***)"


def percent_encode(value: str) -> str:
    """RFC 5849 3.6: UTF-8, then every byte except ``A-Z a-z 0-9 - . _ ~`` as ``%XX`` (upper-case hex)."""
    return quote(value.encode("utf-8"), safe="-._~")


def base_string_uri(url: str) -> str:
    """RFC 5849 3.4.1.2: lower-case scheme and host, default port dropped, no query or fragment."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in {("http", 80), ("https", 443)}:
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", "", ""))


def normalized_parameters(params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1.3.2: encode names and values, sort by name then value, join with ``=`` and ``&``."""
    encoded = sorted((percent_encode(name), percent_encode(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in encoded)


def signature_base_string(method: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """RFC 5849 3.4.1: ``METHOD&encoded-uri&encoded-parameters``; the URL's own query is included."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    every = [*query, *params]
    return "&".join(
        (method.upper(), percent_encode(base_string_uri(url)), percent_encode(normalized_parameters(every)))
    )


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    """RFC 5849 3.4.2: base64 of HMAC-SHA1 keyed with ``encoded consumer secret & encoded token secret``."""
    key = f"{percent_encode(consumer_secret)}&{percent_encode(token_secret)}"
    digest = hmac.new(key.encode("ascii"), base_string.encode("ascii"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def authorization_header(
    method: str,
    url: str,
    *,
    credentials: Credentials,
    form: Iterable[tuple[str, str]] = (),
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The ``Authorization: OAuth …`` value for one request; ``form`` holds url-encoded body parameters."""
    oauth = {
        "oauth_consumer_key": credentials.consumer_key,
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "oauth_token": credentials.token,
        "oauth_version": "1.0",
    }
    base = signature_base_string(method, url, [*oauth.items(), *form])
    secret, token_secret = credentials.consumer_secret, credentials.token_secret
    oauth["oauth_signature"] = hmac_sha1_signature(base, secret, token_secret)
    fields = ", ".join(f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in sorted(oauth.items()))
    return f"OAuth {fields}"
