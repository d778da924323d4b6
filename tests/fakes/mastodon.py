"""A fake Mastodon server enforcing the rules of docs/networks.md (Mastodon section).

- ``Authorization: Bearer`` must name a known token, else ``401 {"error":"The access token is invalid"}``.
- ``POST /api/v1/statuses`` (form or JSON): length counted Mastodon's way (graphemes, URL = 23, the content
  warning counts, through :func:`scheduler.adapters.registry.rules_for`), else ``422 {"error":"Validation
  failed: Text character limit of N exceeded"}``; ``in_reply_to_id`` must exist (``404``).
- ``Idempotency-Key``: a repeat within ``idempotency_ttl`` seconds (3600, like the server's Redis key) returns
  the original status and creates nothing.
- Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset`` with Reset as ISO 8601 (Mastodon's format); a
  rate-limit fault answers ``429 {"error":"Too many requests"}`` with Remaining 0 and the reset.
- ``GET /api/v2/instance`` (``404`` when ``v1_only``: Mastodon 3.x, Pleroma and Akkoma before theirs),
  ``GET /api/v1/instance``, ``verify_credentials``, and ``GET /api/v1/accounts/:id/statuses`` (newest
  first, ``content`` as HTML).

- Media (docs/networks.md, Mastodon): ``POST /api/v2/media`` (multipart ``file`` + ``description``): a
  description over ``description_limit`` (1500) or a file over ``max_image_bytes`` is ``422``; a file that is
  not an image of a type in ``supported_mime_types`` is ``422``, and so is an image of more pixels than
  ``image_matrix_limit`` (``422 {"error":"WxH images are not supported"}``: the fake models a strict
  server; a Mastodon server may scale such an image down instead, unconfirmed). The answer is ``200``
  with a ``url`` when processed at once, or ``202`` with ``url: null`` while it is processed:
  ``processing_checks`` is how many ``GET /api/v1/media/:id`` answer ``206`` (``url: null``) before the
  file is ready (``200``). Unknown media is ``404``; :meth:`MastodonFake.expire_media` deletes unattached
  uploads (the server: after a day).
- A status's ``media_ids`` (JSON list, or form ``media_ids[]``): more than ``max_media_attachments`` (4)
  is ``422 Cannot attach more than 4 files``; unprocessed media is ``422 Cannot attach files that have not
  finished processing``; ids that are unknown or already attached are silently left out, as the real server
  does (the status is posted without them: what a client must never let happen).
- ``GET /api/v2/instance`` publishes these limits in ``configuration`` (``statuses.max_characters`` and
  ``max_media_attachments``; ``media_attachments.supported_mime_types``, ``image_size_limit`` (=
  ``max_image_bytes``), ``image_matrix_limit``, ``description_limit``), except the fields named in
  ``unpublished`` (an older server or a fork that enforces a limit it does not publish).
- ``GET /api/v1/instance`` publishes them as ``v1_shape`` says: ``"mastodon"`` (3.4.2 to 3.5, the entity
  V1::Instance): the same ``configuration`` without ``description_limit`` (v1 has none); ``"pleroma"``
  (Pleroma, Akkoma: their ``InstanceView``): no ``configuration`` but top-level ``max_toot_chars``,
  ``max_media_attachments``, ``upload_limit`` (bytes, every upload) and ``description_limit``. Neither has
  the pixel limit or the types; ``unpublished`` leaves fields out here too (by their v2 names). A
  ``"pleroma"`` server's v2 document (Pleroma 2.5 and later) has a top-level ``pleroma`` section and no
  ``description_limit``: Pleroma publishes that one in v1 only.

``fake.statuses`` lists what was created, oldest first (``Status.media`` the attachments it got);
``fake.uploads`` every upload received; ``fake.clock_offset`` moves the fake's clock forward (to age
idempotency keys without waiting).
"""

from __future__ import annotations

import html
import io
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from scheduler.adapters.registry import rules_for

from .server import FakeServer, Reply, Request, route

_URL = re.compile(r"https?://[^\s<]+[^\s<.,:;\"')\]!?]")
_TAG = re.compile(r"(?<![\w/#])#(\w+)")

MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/webp",
    "image/avif",
    "video/webm",
    "video/mp4",
)
"""What a default server lists in ``supported_mime_types`` (images, then some of its video types)."""


@dataclass
class Status:
    id: str
    text: str
    spoiler_text: str
    visibility: str
    language: str | None
    in_reply_to_id: str | None
    created_at: float
    idempotency_key: str | None
    media: list[MediaAttachment] = field(default_factory=list)


@dataclass
class MediaAttachment:
    """One uploaded file: its bytes, alt text (``description``), type, and how many more checks it takes
    to be processed (``0``: ready, it has a ``url``)."""

    id: str
    data: bytes
    description: str
    mime: str
    filename: str | None
    checks_left: int
    status_id: str | None = None

    @property
    def ready(self) -> bool:
        return self.checks_left <= 0


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_html(text: str, base_url: str) -> str:
    """The status ``content`` as Mastodon renders it: paragraphs, ``<br />``, linked tags, shortened URLs."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        scheme, rest = url.split("://", 1)
        shown, hidden = rest[:30], rest[30:]
        return (
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener noreferrer">'
            f'<span class="invisible">{scheme}://</span><span class="{"ellipsis" if hidden else ""}">'
            f'{html.escape(shown)}</span><span class="invisible">{html.escape(hidden)}</span></a>'
        )

    def tag(match: re.Match[str]) -> str:
        name = match.group(1)
        href = f"{base_url}/tags/{name.lower()}"
        return f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{name}</span></a>'

    paragraphs = []
    for paragraph in text.split("\n\n"):
        pieces = []
        last = 0
        for match in _URL.finditer(paragraph):
            pieces.append(_TAG.sub(tag, html.escape(paragraph[last : match.start()], quote=False)))
            pieces.append(link(match))
            last = match.end()
        pieces.append(_TAG.sub(tag, html.escape(paragraph[last:], quote=False)))
        paragraphs.append("<p>" + "".join(pieces).replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


class MastodonFake(FakeServer):
    name = "mastodon"

    def __init__(
        self,
        *,
        token: str = "masto-token",
        username: str = "alice",
        max_characters: int = 500,
        v1_only: bool = False,
        v1_shape: Literal["mastodon", "pleroma"] = "mastodon",
        idempotency_ttl: float = 3600.0,
        rate_limit: int = 300,
        description_limit: int = 1500,
        max_image_bytes: int = 16 * 1024 * 1024,
        processing_checks: int = 0,
        image_matrix_limit: int = 16_777_216,
        supported_mime_types: tuple[str, ...] = MIME_TYPES,
        max_media_attachments: int = 4,
        unpublished: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.tokens = {token}
        self.username = username
        self.account_id = "109000000000000001"
        self.max_characters = max_characters
        self.v1_only = v1_only
        self.v1_shape = v1_shape
        self.idempotency_ttl = idempotency_ttl
        self.rate_limit_total = rate_limit
        self.remaining = rate_limit
        self.window_reset = time.time() + 300
        self.statuses: list[Status] = []
        self.keys: dict[str, tuple[str, float]] = {}
        self.clock_offset = 0.0
        self._next_id = 110_000_000_000_000_000
        self.description_limit = description_limit
        self.max_image_bytes = max_image_bytes
        self.image_matrix_limit = image_matrix_limit
        self.supported_mime_types = supported_mime_types
        self.max_media_attachments = max_media_attachments
        self.unpublished = unpublished
        """Fields of ``configuration`` the instance document leaves out (each still enforced)."""
        self.processing_checks = processing_checks
        """Checks of a new upload answered "still processing" before it is ready; 0: answered 200 at once."""
        self.media: dict[str, MediaAttachment] = {}
        self.uploads: list[MediaAttachment] = []
        self._next_media_id = 113_000_000_000_000_000

    def expire_media(self) -> None:
        """Delete every upload no status uses (the server does so a day after the upload)."""
        with self.lock:
            for media_id in [m.id for m in self.media.values() if m.status_id is None]:
                del self.media[media_id]

    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- network-specific answers ------------------------------------------------------------------------

    def _rate_headers(self, remaining: int, reset: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.rate_limit_total),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": iso(reset),
        }

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        headers = self._rate_headers(0, time.time() + wait)
        announced = datetime.fromisoformat(headers["X-RateLimit-Reset"]).timestamp()
        return Reply.json({"error": "Too many requests"}, 429, headers), announced

    def server_error(self, request: Request, status: int) -> Reply:
        return Reply.json({"error": "We're sorry, but something went wrong on our end."}, status)

    def decorate(self, request: Request, reply: Reply) -> Reply:
        self.remaining = max(0, self.remaining - 1)
        reply.headers.update(self._rate_headers(self.remaining, self.window_reset))
        return reply

    def _unauthorized(self, request: Request) -> Reply | None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer ") and header.removeprefix("Bearer ") in self.tokens:
            return None
        return Reply.json({"error": "The access token is invalid"}, 401)

    # --- API ---------------------------------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        return {
            "id": self.account_id,
            "username": self.username,
            "acct": self.username,
            "display_name": self.username.title(),
            "url": f"{self.base_url}/@{self.username}",
        }

    def status_json(self, status: Status) -> dict[str, Any]:
        return {
            "id": status.id,
            "uri": f"{self.base_url}/users/{self.username}/statuses/{status.id}",
            "url": f"{self.base_url}/@{self.username}/{status.id}",
            "created_at": iso(status.created_at),
            "content": render_html(status.text, self.base_url),
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": self.account_id if status.in_reply_to_id else None,
            "account": self.account(),
            "media_attachments": [self.media_json(m) for m in status.media],
        }

    def media_json(self, media: MediaAttachment) -> dict[str, Any]:
        url = f"{self.base_url}/system/media/{media.id}/original" if media.ready else None
        return {
            "id": media.id,
            "type": "image",
            "url": url,
            "preview_url": f"{self.base_url}/system/media/{media.id}/small",
            "description": media.description,
            "meta": {},
        }

    @staticmethod
    def _media_ids(request: Request) -> list[str]:
        if request.headers.get("content-type", "").startswith("application/json"):
            ids = (request.json() or {}).get("media_ids") or []
            return [str(i) for i in ids] if isinstance(ids, list) else []
        return [str(i) for i in request.form().get("media_ids[]", [])]

    @route("POST", "/api/v2/media")
    def upload_media(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        parts = request.multipart()
        file = parts.get("file")
        if file is None:
            return Reply.json({"error": "Validation failed: File can't be blank"}, 422)
        description = parts["description"].text if "description" in parts else ""
        if len(description) > self.description_limit:
            message = (
                f"Validation failed: Description is too long (maximum is {self.description_limit} characters)"
            )
            return Reply.json({"error": message}, 422)
        if len(file.data) > self.max_image_bytes:
            limit = self.max_image_bytes
            shown = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
            return Reply.json({"error": f"Validation failed: File file size must be less than {shown}"}, 422)
        try:
            with Image.open(io.BytesIO(file.data)) as image:
                kind = (image.format or "").lower()
                width, height = image.size
        except (UnidentifiedImageError, OSError):
            kind, width, height = "", 0, 0
        if kind not in {"jpeg", "png", "webp", "gif"} or f"image/{kind}" not in self.supported_mime_types:
            return Reply.json({"error": "Validation failed: File content type is invalid"}, 422)
        if width * height > self.image_matrix_limit:
            return Reply.json({"error": f"{width}x{height} images are not supported"}, 422)
        self._next_media_id += 1
        media = MediaAttachment(
            id=str(self._next_media_id),
            data=file.data,
            description=description,
            mime=f"image/{kind}",
            filename=file.filename,
            checks_left=self.processing_checks,
        )
        self.media[media.id] = media
        self.uploads.append(media)
        return Reply.json(self.media_json(media), 200 if media.ready else 202)

    @route("GET", "/api/v1/media/{media_id}")
    def get_media(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        media = self.media.get(request.params["media_id"])
        if media is None:
            return Reply.json({"error": "Record not found"}, 404)
        if not media.ready:
            media.checks_left -= 1
            return Reply.json(self.media_json(media), 206)
        return Reply.json(self.media_json(media))

    def count(self, text: str, spoiler_text: str) -> int:
        return rules_for("mastodon", limit=self.max_characters, spoiler_text=spoiler_text).count(text)

    @route("POST", "/api/v1/statuses")
    def create_status(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        key = request.headers.get("idempotency-key")
        if key is not None and key in self.keys:
            status_id, stored_at = self.keys[key]
            if self.now() - stored_at < self.idempotency_ttl:
                [original] = [s for s in self.statuses if s.id == status_id]
                return Reply.json(self.status_json(original))
        fields = request.fields()
        text = str(fields.get("status") or "")
        spoiler = str(fields.get("spoiler_text") or "")
        if not text.strip():
            return Reply.json({"error": "Validation failed: Text can't be blank"}, 422)
        if self.count(text, spoiler) > self.max_characters:
            message = f"Validation failed: Text character limit of {self.max_characters} exceeded"
            return Reply.json({"error": message}, 422)
        visibility = str(fields.get("visibility") or "public")
        if visibility not in {"public", "unlisted", "private", "direct"}:
            return Reply.json({"error": "Validation failed: Visibility is not included in the list"}, 422)
        reply_to = fields.get("in_reply_to_id")
        if reply_to and not any(s.id == str(reply_to) for s in self.statuses):
            return Reply.json({"error": "Record not found"}, 404)
        media_ids = self._media_ids(request)
        if len(media_ids) > self.max_media_attachments:
            message = f"Cannot attach more than {self.max_media_attachments} files"
            return Reply.json({"error": message}, 422)
        attached = [self.media[i] for i in media_ids if i in self.media and self.media[i].status_id is None]
        if any(not m.ready for m in attached):
            message = "Cannot attach files that have not finished processing. Try again in a moment!"
            return Reply.json({"error": message}, 422)
        self._next_id += 1
        status = Status(
            id=str(self._next_id),
            text=text,
            spoiler_text=spoiler,
            visibility=visibility,
            language=fields.get("language") or None,
            in_reply_to_id=str(reply_to) if reply_to else None,
            created_at=self.now(),
            idempotency_key=key,
            media=attached,
        )
        for attachment in attached:
            attachment.status_id = status.id
        self.statuses.append(status)
        if key is not None:
            self.keys[key] = (status.id, status.created_at)
        return Reply.json(self.status_json(status))

    @route("GET", "/api/v1/accounts/verify_credentials")
    def verify_credentials(self, request: Request) -> Reply:
        return self._unauthorized(request) or Reply.json(self.account())

    @route("GET", "/api/v1/accounts/{account_id}/statuses")
    def account_statuses(self, request: Request) -> Reply:
        if request.params["account_id"] != self.account_id:
            return Reply.json({"error": "Record not found"}, 404)
        limit = min(int(request.arg("limit", "20") or 20), 40)
        newest_first = list(reversed(self.statuses))[:limit]
        return Reply.json([self.status_json(s) for s in newest_first])

    def configuration(self) -> dict[str, dict[str, Any]]:
        """``configuration`` of ``/api/v2/instance``, less the fields named in ``unpublished``."""
        statuses = {
            "max_characters": self.max_characters,
            "max_media_attachments": self.max_media_attachments,
            "characters_reserved_per_url": 23,
        }
        media = {
            "supported_mime_types": list(self.supported_mime_types),
            "image_size_limit": self.max_image_bytes,
            "image_matrix_limit": self.image_matrix_limit,
            "description_limit": self.description_limit,
        }
        return {
            "statuses": {k: v for k, v in statuses.items() if k not in self.unpublished},
            "media_attachments": {k: v for k, v in media.items() if k not in self.unpublished},
        }

    @route("GET", "/api/v2/instance")
    def instance_v2(self, request: Request) -> Reply:
        if self.v1_only:
            return Reply.json({"error": "Not Found"}, 404)
        document: dict[str, Any] = {"domain": "fake.example", "configuration": self.configuration()}
        if self.v1_shape == "pleroma":  # its v2 InstanceView: no description_limit, and its own section
            document["configuration"]["media_attachments"].pop("description_limit", None)
            document["pleroma"] = {"metadata": {"features": ["pleroma_api", "mastodon_api"]}}
        return Reply.json(document)

    @route("GET", "/api/v1/instance")
    def instance_v1(self, request: Request) -> Reply:
        configuration = self.configuration()
        if self.v1_shape == "mastodon":
            configuration["media_attachments"].pop("description_limit", None)
            return Reply.json({"uri": "fake.example", "version": "3.5.3", "configuration": configuration})
        statuses, media = configuration["statuses"], configuration["media_attachments"]
        top = {
            "max_toot_chars": statuses.get("max_characters"),
            "max_media_attachments": statuses.get("max_media_attachments"),
            "upload_limit": media.get("image_size_limit"),
            "description_limit": media.get("description_limit"),
        }
        document = {"uri": "fake.example", "version": "2.7.2 (compatible; Pleroma 2.5.0)"}
        return Reply.json(document | {k: v for k, v in top.items() if v is not None})
