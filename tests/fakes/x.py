"""A fake X API v2 enforcing the rules of docs/networks.md (X section).

- Auth: OAuth 1.0a, whose HMAC-SHA1 signature the fake recomputes from the request with the same secrets
  (its own implementation of RFC 5849, not the adapter's; a reused nonce is refused), or an OAuth 2.0 user
  token (``Bearer``), refreshed at ``POST /2/oauth2/token`` (``grant_type=refresh_token``; refresh tokens
  rotate). A bad one gets ``401`` problem+json.
- ``POST /2/tweets {"text", "reply":{"in_reply_to_tweet_id"}}``: 280 weighted characters (twitter-text v3,
  through :func:`scheduler.adapters.registry.rules_for`), else ``400``; the same text as an earlier post of
  the account is ``403`` "duplicate content"; success is ``201 {"data":{"id","text"}}``.
- Every answer carries ``x-rate-limit-limit/-remaining/-reset`` (Unix seconds); a rate-limit fault answers
  ``429`` problem+json with Remaining 0 and the reset.
- ``GET /2/users/me``.
- Media (docs/networks.md): ``POST /2/media/upload`` (multipart ``media`` + ``media_category``, which must be
  ``tweet_image`` for an image) answers ``{"data":{"id","media_key","size","expires_after_secs"}}``; a file
  over ``max_image_bytes`` (5 MB) or not an image is ``400``. ``POST /2/media/metadata {"id","metadata":
  {"alt_text":{"text"}}}`` sets the alt text: over 1000 characters, or an unknown id, is ``400``. A tweet's
  ``media.media_ids``: more than 4, or an id this fake never answered (or has expired,
  :meth:`XFake.expire_media`), is ``400 "Your media IDs are invalid."``.

``fake.tweets`` lists what was created, oldest first (``Tweet.media`` what each carries);
``fake.media_uploads`` every upload received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from PIL import Image, UnidentifiedImageError

from scheduler.adapters.registry import rules_for

from .server import FakeServer, Reply, Request, route

PROBLEM = "application/problem+json"


@dataclass
class XMedia:
    """One uploaded image: its bytes and type, its alt text once set, and whether a tweet uses it."""

    id: str
    data: bytes
    mime: str
    category: str
    alt: str | None = None
    used: bool = False


@dataclass
class Tweet:
    id: str
    text: str
    in_reply_to: str | None
    media: list[XMedia] = field(default_factory=list)


def problem(status: int, title: str, detail: str, type_: str = "about:blank") -> Reply:
    body = {"title": title, "detail": detail, "type": type_, "status": status}
    return Reply.json(body, status, content_type=PROBLEM)


def _enc(value: str) -> str:
    return quote(value, safe="~-._")


def expected_signature(
    request: Request, oauth: dict[str, str], consumer_secret: str, token_secret: str
) -> str:
    """The signature the request should carry, computed here independently of the adapter."""
    split = urlsplit(request.url)
    params = [(k, v) for k, v in oauth.items() if k != "oauth_signature"]
    params += parse_qsl(split.query, keep_blank_values=True)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        params += parse_qsl(request.body.decode(), keep_blank_values=True)
    joined = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in params))
    base_uri = f"{split.scheme}://{split.netloc.lower()}{split.path}"
    base = f"{request.method}&{_enc(base_uri)}&{_enc(joined)}"
    key = f"{_enc(consumer_secret)}&{_enc(token_secret)}"
    return base64.b64encode(hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()).decode()


def parse_oauth_header(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in header.removeprefix("OAuth ").split(","):
        name, _, value = item.strip().partition("=")
        fields[unquote(name)] = unquote(value.strip('"'))
    return fields


class XFake(FakeServer):
    name = "x"

    def __init__(
        self,
        *,
        consumer_key: str = "ck",
        consumer_secret: str = "cs",
        access_token: str = "1-at",
        access_token_secret: str = "ats",
        oauth2_token: str = "o2-access",
        refresh_token: str = "o2-refresh",
        client_id: str = "client-1",
        username: str = "alice_x",
        user_id: str = "1500000000000000001",
        rate_limit: int = 100,
    ) -> None:
        super().__init__()
        self.consumer = (consumer_key, consumer_secret)
        self.access = (access_token, access_token_secret)
        self.oauth2_tokens = {oauth2_token}
        self.refresh_tokens = {refresh_token}
        self.client_id = client_id
        self.username = username
        self.user_id = user_id
        self.rate_limit_total = rate_limit
        self.remaining = rate_limit
        self.window_reset = math.ceil(time.time()) + 900
        self.tweets: list[Tweet] = []
        self.nonces: set[str] = set()
        self.refreshes = 0
        self._next_id = 1_800_000_000_000_000_000
        self.max_image_bytes = 5 * 1024 * 1024
        self.media: dict[str, XMedia] = {}
        self.media_uploads: list[XMedia] = []
        self._next_media_id = 1_900_000_000_000_000_000

    def expire_media(self) -> None:
        """Forget every upload no tweet uses (X: after ``expires_after_secs``)."""
        with self.lock:
            for media_id in [m.id for m in self.media.values() if not m.used]:
                del self.media[media_id]

    def expire_oauth2_tokens(self) -> None:
        """Every OAuth 2.0 access token stops working (as after its 2 hours)."""
        with self.lock:
            self.oauth2_tokens.clear()

    # --- network-specific answers ------------------------------------------------------------------------

    def _rate_headers(self, remaining: int, reset: int) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.rate_limit_total),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(reset),
        }

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        reset = math.ceil(time.time() + wait)
        reply = problem(429, "Too Many Requests", "Too Many Requests")
        reply.headers.update(self._rate_headers(0, reset))
        return reply, float(reset)

    def server_error(self, request: Request, status: int) -> Reply:
        return problem(status, "Service Unavailable", "Service Unavailable")

    def not_found(self, request: Request) -> Reply:
        return problem(404, "Not Found Error", f"Could not find {request.path}")

    def decorate(self, request: Request, reply: Reply) -> Reply:
        self.remaining = max(0, self.remaining - 1)
        reply.headers.update(self._rate_headers(self.remaining, self.window_reset))
        return reply

    def _unauthorized(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            if header.removeprefix("Bearer ") in self.oauth2_tokens:
                return None
        elif header.startswith("OAuth "):
            oauth = parse_oauth_header(header)
            nonce = oauth.get("oauth_nonce", "")
            signature = expected_signature(request, oauth, self.consumer[1], self.access[1])
            if (
                oauth.get("oauth_consumer_key") == self.consumer[0]
                and oauth.get("oauth_token") == self.access[0]
                and oauth.get("oauth_signature_method") == "HMAC-SHA1"
                and abs(int(oauth.get("oauth_timestamp", "0")) - time.time()) < 300
                and nonce
                and nonce not in self.nonces
                and hmac.compare_digest(oauth.get("oauth_signature", ""), signature)
            ):
                self.nonces.add(nonce)
                return None
        return problem(401, "Unauthorized", "Unauthorized")

    # --- API ---------------------------------------------------------------------------------------------

    def count(self, text: str) -> int:
        return rules_for("x").count(text)

    @route("POST", "/2/tweets")
    def create_tweet(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        body: dict[str, Any] = request.json() or {}
        text = str(body.get("text") or "")
        if not text or self.count(text) > 280:
            return problem(
                400,
                "Invalid Request",
                "One or more parameters to your request was invalid.",
                "https://api.twitter.com/2/problems/invalid-request",
            )
        if any(t.text == text for t in self.tweets):
            return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to is not None and not any(t.id == reply_to for t in self.tweets):
            return problem(
                400,
                "Invalid Request",
                "Your Tweet is a reply to a Tweet that has been deleted or is not visible to you.",
            )
        media_ids = (body.get("media") or {}).get("media_ids") or []
        if not isinstance(media_ids, list) or len(media_ids) > 4:
            return problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
        if any(not isinstance(i, str) or i not in self.media for i in media_ids):
            return problem(400, "Invalid Request", "Your media IDs are invalid.")
        attached = [self.media[i] for i in media_ids]
        for item in attached:
            item.used = True
        self._next_id += 1 + secrets.randbelow(1000)
        tweet = Tweet(str(self._next_id), text, reply_to, attached)
        self.tweets.append(tweet)
        return Reply.json({"data": {"id": tweet.id, "text": text, "edit_history_tweet_ids": [tweet.id]}}, 201)

    @route("POST", "/2/media/upload")
    def upload_media(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        parts = request.multipart()
        media = parts.get("media")
        category = parts["media_category"].text if "media_category" in parts else ""
        if media is None:
            return problem(400, "Invalid Request", "The `media` field is required.")
        if category.lower() != "tweet_image":
            return problem(400, "Invalid Request", f"media_category {category!r} does not fit an image.")
        if len(media.data) > self.max_image_bytes:
            return problem(400, "Invalid Request", "File size exceeds 5242880 bytes.")
        try:
            with Image.open(io.BytesIO(media.data)) as image:
                kind = (image.format or "").lower()
        except (UnidentifiedImageError, OSError):
            kind = ""
        if kind not in {"jpeg", "png", "webp", "gif"}:
            return problem(400, "Invalid Request", "Unsupported media type.")
        self._next_media_id += 1 + secrets.randbelow(1000)
        item = XMedia(str(self._next_media_id), media.data, f"image/{kind}", category)
        self.media[item.id] = item
        self.media_uploads.append(item)
        data = {
            "id": item.id,
            "media_key": f"3_{item.id}",
            "size": len(item.data),
            "expires_after_secs": 86400,
            "image": {"image_type": item.mime},
        }
        return Reply.json({"data": data})

    @route("POST", "/2/media/metadata")
    def media_metadata(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        body: dict[str, Any] = request.json() or {}
        item = self.media.get(str(body.get("id")))
        if item is None:
            return problem(400, "Invalid Request", f"The media id {body.get('id')!r} is not known.")
        text = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(text, str) or len(text) > 1000:
            return problem(
                400, "Invalid Request", "alt_text.text must be a string of at most 1000 characters."
            )
        item.alt = text
        return Reply.json({"data": {"id": item.id, "associated_metadata": {"alt_text": {"text": text}}}})

    @route("GET", "/2/users/me")
    def me(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        return Reply.json({"data": {"id": self.user_id, "name": "Alice", "username": self.username}})

    @route("POST", "/2/oauth2/token")
    def token(self, request: Request) -> Reply:
        form = request.fields()
        if form.get("grant_type") != "refresh_token" or form.get("client_id") != self.client_id:
            return Reply.json(
                {"error": "invalid_request", "error_description": "Value passed for the grant"}, 400
            )
        if form.get("refresh_token") not in self.refresh_tokens:
            return Reply.json(
                {"error": "invalid_request", "error_description": "Value passed for the token was invalid."},
                400,
            )
        self.refresh_tokens.discard(form["refresh_token"])
        self.refreshes += 1
        access, refresh = f"o2-access-{self.refreshes}", f"o2-refresh-{self.refreshes}"
        self.oauth2_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return Reply.json(
            {
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": access,
                "scope": "tweet.read tweet.write users.read offline.access",
                "refresh_token": refresh,
            }
        )
