"""The ``webhook`` adapter: one signed JSON POST per delivery to a receiver you run.

Configuration (``[channels.<name>]``)::

    network = "webhook"
    url = "https://example.com/hooks/tagcast"
    # secret from TAGCAST_CHANNELS__<NAME>__SECRET (or secret_file): enables signatures

The request
-----------
``POST <url>`` with ``Content-Type: application/json`` and this body (keys may be added, never removed)::

    {"event": "delivery", "delivery_id": "…", "idempotency_key": "…", "channel": "…",
     "parts": ["first part", "…"],
     "article": {"title", "url", "source", "hashtags": ["KhalkhinGol", …], "body", "reference", "explore",
                 "published", "publish_at" (ISO 8601 or null), "extra": {…}},
     "images": [{"src", "alt", "mime", "width", "height", "bytes", "sha256", "data"}, …]}

``images`` holds the article's images processed for this channel (EXIF stripped, within its limits), in order,
each with its alt text and ``data``: the file's bytes in standard base64 (``bytes`` is their decoded size and
``sha256`` their hex hash); ``[]`` for a post without images. The images are inside the signed body.

Headers: ``Idempotency-Key`` (the same on every retry of one delivery), ``X-Tagcast-Event: delivery``,
``X-Tagcast-Delivery``, and, when a ``secret`` is set, ``X-Tagcast-Timestamp`` and ``X-Tagcast-Signature``.

Signatures (as Stripe and GitHub do them)
-----------------------------------------
``X-Tagcast-Timestamp`` is the Unix time of sending, in whole seconds. ``X-Tagcast-Signature`` is
``sha256=`` followed by the lowercase hex HMAC-SHA256, keyed with the secret (UTF-8), of the timestamp, a
``.``, and the raw request body, byte for byte: ``HMAC(secret, f"{timestamp}.".encode() + body)``. Signing
the timestamp lets a receiver refuse replays of an old request. Verify the raw bytes before parsing the JSON::

    import hashlib, hmac, time

    def verify(secret: str, body: bytes, headers: dict[str, str], tolerance: int = 300) -> bool:
        timestamp = headers["X-Tagcast-Timestamp"]
        if abs(time.time() - int(timestamp)) > tolerance:
            return False                                    # too old (or a skewed clock): refuse
        material = timestamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers["X-Tagcast-Signature"])

Answers
-------
Any 2xx is success; a JSON body's ``id`` becomes the receipt's remote id and its ``url`` the receipt's URL.
401/403 are AuthError (a wrong secret), 408/425/429/5xx transient (``Retry-After`` is honoured), other 4xx
permanent with the receiver's reason.

Exactly once
------------
Retries are safe by contract: the body of one delivery is byte-identical on every attempt and carries its
``Idempotency-Key``, and **receivers must dedupe by that key** (answer a repeat with the first answer, without
acting again). So a lost answer is a transient error, and :meth:`WebhookAdapter.reconcile` after a crash
simply re-POSTs the same body and returns the receipt of that answer.

Checking
--------
:meth:`WebhookAdapter.check` sends a signed ``{"event": "ping"}`` with ``X-Tagcast-Event: ping`` (as GitHub
pings a new webhook) and no ``Idempotency-Key``; receivers should answer 2xx and not treat it as a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import date, datetime
from datetime import time as dt_time
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import decode_json, error_reason, redact_url, refuse_over_length, send
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.config.credentials import secret_env_var
from scheduler.errors import AuthError, DeliveryError
from scheduler.lazy import httpx
from scheduler.media.model import Media, MediaLimits
from scheduler.models import Article

SIGNATURE_HEADER = "X-Tagcast-Signature"
TIMESTAMP_HEADER = "X-Tagcast-Timestamp"
EVENT_HEADER = "X-Tagcast-Event"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Tagcast-Signature`` value: ``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""
    material = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode("utf-8"), material, hashlib.sha256).hexdigest()


def article_json(article: Article) -> dict[str, Any]:
    """The ``article`` object of the body: JSON-safe, the same for the same article."""
    return {
        "title": article.title,
        "url": article.url,
        "source": article.source,
        "hashtags": [tag.text for tag in article.hashtags],
        "body": article.body,
        "reference": article.reference,
        "explore": article.explore,
        "published": article.published.isoformat() if article.published else None,
        "publish_at": article.publish_at.isoformat() if article.publish_at else None,
        "extra": article.extra,
    }


def _json_default(value: Any) -> Any:
    """Dates and times as ISO 8601, anything else (in ``article.extra``) as its ``str``."""
    return value.isoformat() if isinstance(value, date | datetime | dt_time) else str(value)


def image_json(media: Media) -> dict[str, Any]:
    """One entry of ``images``: what preview shows of the image, its hash, and its bytes in base64."""
    return {**media.to_json(), "sha256": media.sha256, "data": base64.b64encode(media.read_bytes()).decode()}


def delivery_body(post: Outgoing) -> bytes:
    """The request body of a delivery: deterministic bytes, so every retry sends exactly the same."""
    payload = {
        "images": [image_json(item) for item in post.media],
        "event": "delivery",
        "delivery_id": post.delivery_id,
        "idempotency_key": post.idempotency_key,
        "channel": post.channel,
        "parts": list(post.parts),
        "article": article_json(post.article),
    }
    text = json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default
    )
    return text.encode("utf-8")


class WebhookAdapter(Adapter):
    """POSTs each delivery, signed, to a receiver that dedupes by ``Idempotency-Key`` (see the module)."""

    secrets = ("secret",)
    settings_keys = frozenset({"url"})
    network = "webhook"
    media_limits = MediaLimits(
        max_bytes=20_000_000,
        mimes=("image/jpeg", "image/png", "image/webp", "image/gif"),
        alt_max=10_000,
        alt_unit="graphemes",
    )
    """The images travel in the JSON payload (base64), with their alt text."""

    def _url(self) -> str:
        url = (self.settings.url or "").strip()
        if not url:
            raise AuthError(
                f"webhook channel '{self.channel}' has no url; set url in config/tagcast.toml to the "
                "receiver's address, e.g. https://example.com/hooks/tagcast"
            )
        if not url.startswith(("https://", "http://")):
            raise AuthError(f"webhook channel '{self.channel}': url {redact_url(url)} is not an http(s) URL")
        return url

    def _headers(self, body: bytes, event: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", EVENT_HEADER: event}
        secret = self.settings.secret_value("secret")
        if secret:
            timestamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = timestamp
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
        return headers

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        if response.status_code in (401, 403):
            signed = "the signature or the secret" if self.settings.secret_value("secret") else "the request"
            reason = error_reason(response, limit=200, redact=self.guard.redact)
            return AuthError(
                f"webhook: {redact_url(response.request.url)} refused {signed} ({response.status_code}: "
                f"{reason}); check secret of channel '{self.channel}' "
                f"({secret_env_var(self.channel, 'secret')}) against the receiver's"
            )
        return None

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        url = self._url()
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        body = delivery_body(post)
        headers = self._headers(body, "delivery")
        headers["Idempotency-Key"] = post.idempotency_key
        headers["X-Tagcast-Delivery"] = post.delivery_id
        response = await send(
            self.http,
            "POST",
            url,
            network=self.network,
            headers=headers,
            content=body,
            errors=self._errors,
            guard=self.guard,
        )
        return self._receipt(response)

    @staticmethod
    def _receipt(response: httpx.Response) -> Receipt:
        try:
            data = decode_json(response.content)
        except ValueError:
            data = None
        data = data if isinstance(data, dict) else {}
        remote_id = data.get("id")
        url = data.get("url")
        return Receipt(
            remote_ids=(str(remote_id),) if remote_id not in (None, "") else (),
            url=url if isinstance(url, str) and url else None,
            extra={"status": response.status_code},
        )

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """Re-POST the identical delivery: the receiver dedupes by ``Idempotency-Key`` and answers again."""
        return await self.publish(post, journal)

    async def check(self) -> Identity:
        """A signed ping (``X-Tagcast-Event: ping``): reachability and, with a secret, the signature."""
        url = self._url()
        body = json.dumps({"event": "ping", "channel": self.channel}, separators=(",", ":")).encode()
        await send(
            self.http,
            "POST",
            url,
            network=self.network,
            headers=self._headers(body, "ping"),
            content=body,
            errors=self._errors,
            guard=self.guard,
        )
        signed = (
            "signed with HMAC-SHA256" if self.settings.secret_value("secret") else "unsigned (no secret set)"
        )
        return Identity(
            account=f"webhook {redact_url(url)}", detail=f"ping answered; deliveries are {signed}"
        )
