"""OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849), as the X API expects it, done by oauthlib.

Only query parameters and ``application/x-www-form-urlencoded`` body parameters are signed; a JSON body (X API
v2) is not part of the signature::

    header = authorization_header(
        "POST", "https://api.x.com/2/tweets", credentials=Credentials(key, secret, token, token_secret)
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import quote, urlencode

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client

FORM = "application/x-www-form-urlencoded"
Method = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """The consumer (API key and secret) and the user's access token and secret."""

    consumer_key: str
    consumer_secret: str
    token: str
    token_secret: str

    def __repr__(self) -> str:
        return "Credentials(***)"


def authorization_header(
    method: str,
    url: str,
    *,
    credentials: Credentials,
    form: Iterable[tuple[str, str]] = (),
    nonce: str | None = None,
    timestamp: int | None = None,
) -> str:
    """The ``Authorization: OAuth …`` value for one request; ``form`` holds url-encoded body parameters.

    ``nonce`` and ``timestamp`` are for reproducing a documented example; by default each request gets a
    fresh nonce and the current time.
    """
    client = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.token,
        resource_owner_secret=credentials.token_secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        nonce=nonce,
        timestamp=None if timestamp is None else str(timestamp),
    )
    fields = list(form)
    body = urlencode(fields, quote_via=quote) if fields else None
    headers = {"Content-Type": FORM} if fields else {}
    _, signed, _ = client.sign(url, http_method=cast(Method, method.upper()), body=body, headers=headers)
    return str(signed["Authorization"])
