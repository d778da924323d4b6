"""A receiver of tagcast's generic webhook, written the way the adapter's docstring tells receivers to.

- ``POST /hooks/tagcast``: with a :attr:`WebhookFake.secret`, ``X-Tagcast-Timestamp`` must be within
  :attr:`WebhookFake.tolerance` seconds of now and ``X-Tagcast-Signature`` must be
  ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + raw body)>``, else ``401``;
- ``X-Tagcast-Event: ping`` (from ``check()``) is answered ``200 {"ok": true}`` and stored nowhere;
- a delivery needs an ``Idempotency-Key``; a repeated key with the same body replays the first answer (same
  ``id``, header ``Idempotent-Replayed: true``) and stores nothing; the same key with another body is
  ``422``; a new delivery is answered ``201 {"id", "url"}``;
- ``images`` (when present) is checked as a receiver would: each ``data`` is base64 of ``bytes`` bytes
  hashing to ``sha256`` and decodes as an image of ``width`` x ``height`` (else ``422``); the decoded images
  are kept in :attr:`Delivery.images`;
- a 429 (fault) carries ``Retry-After``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fakes.multipart import Picture, decode_image
from fakes.server import FakeServer, Reply, Request, route

PATH = "/hooks/tagcast"
GUARD = 30.0
"""Seconds a held request waits for its release at most: a guard against a hung test, never an outcome."""


@dataclass
class Delivery:
    id: str
    key: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    images: list[tuple[Picture, str]] = field(default_factory=list)
    """Each image decoded, with its alt text."""


class WebhookFake(FakeServer):
    """A receiver that verifies signatures (when ``secret`` is set) and dedupes by ``Idempotency-Key``."""

    name = "webhook"

    def __init__(self, secret: str | None = "whsec-good", *, tolerance: float = 300.0) -> None:
        super().__init__()
        self.secret = secret
        self.tolerance = tolerance
        self.deliveries: list[Delivery] = []
        self.pings: list[Request] = []
        self.replays = 0
        self.answer_json = True
        """``False``: answer a new delivery ``200 accepted`` in plain text, without an id."""
        self._answers: dict[str, tuple[str, Reply]] = {}

    @property
    def url(self) -> str:
        return f"{self.base_url}{PATH}"

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        seconds = max(1, math.ceil(wait))
        return Reply.json({"error": "slow down"}, 429, {"Retry-After": str(seconds)}), time.time() + seconds

    def _verify(self, request: Request) -> str | None:
        """Why the signature is refused, or ``None`` when it is good (or no secret is configured)."""
        if self.secret is None:
            return None
        timestamp = request.headers.get("x-tagcast-timestamp", "")
        signature = request.headers.get("x-tagcast-signature", "")
        if not timestamp.isdigit() or not signature:
            return "missing X-Tagcast-Timestamp or X-Tagcast-Signature"
        if abs(time.time() - int(timestamp)) > self.tolerance:
            return "stale timestamp"
        material = timestamp.encode() + b"." + request.body
        expected = "sha256=" + hmac.new(self.secret.encode(), material, hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, signature) else "signature mismatch"

    @route("POST", PATH)
    def receive(self, request: Request) -> Reply:
        refused = self._verify(request)
        if refused is not None:
            return Reply.json({"error": refused}, 401)
        if request.headers.get("x-tagcast-event") == "ping":
            self.pings.append(request)
            return Reply.json({"ok": True, "receiver": "fake"})
        key = request.headers.get("idempotency-key")
        if not key:
            return Reply.json({"error": "Idempotency-Key header required"}, 400)
        digest = hashlib.sha256(request.body).hexdigest()
        if key in self._answers:
            seen_digest, reply = self._answers[key]
            if seen_digest != digest:
                return Reply.json({"error": "Idempotency-Key reused with a different body"}, 422)
            self.replays += 1
            return Reply(reply.status, reply.body, {**reply.headers, "Idempotent-Replayed": "true"})
        try:
            body = request.json()
        except ValueError:
            return Reply.json({"error": "body is not JSON"}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("parts"), list):
            return Reply.json({"error": "expected an object with parts"}, 422)
        try:
            images = [_image(item) for item in body.get("images") or []]
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            return Reply.json({"error": f"bad image: {exc}"}, 422)
        delivery = Delivery(
            f"wh-{len(self.deliveries) + 1}", key, body, request.body, request.headers, images
        )
        self.deliveries.append(delivery)
        if self.answer_json:
            reply = Reply.json({"id": delivery.id, "url": f"{self.base_url}/deliveries/{delivery.id}"}, 201)
        else:
            reply = Reply.text("accepted")
        self._answers[key] = (digest, reply)
        return reply


class HeldWebhook(WebhookFake):
    """A receiver that holds each request until the test lets it go: ``arrived`` is set when a request is in,
    it is handled once ``release`` is set, and ``handled`` is set once it has been (its answer leaves then).
    A test waits on these events, never on the wall clock."""

    def __init__(self) -> None:
        super().__init__(secret=None)
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.handled = threading.Event()

    def _locked_route(self, request: Request) -> Reply:
        self.arrived.set()
        self.release.wait(GUARD)
        try:
            return super()._locked_route(request)
        finally:
            self.handled.set()


def _image(item: dict[str, Any]) -> tuple[Picture, str]:
    data = base64.b64decode(item["data"], validate=True)
    picture = decode_image(data)
    if len(data) != item["bytes"] or picture.sha256 != item["sha256"]:
        raise ValueError("data does not match bytes and sha256")
    if (picture.width, picture.height, picture.mime) != (item["width"], item["height"], item["mime"]):
        raise ValueError("data does not match width, height and mime")
    return picture, str(item["alt"])
