"""A fake Discord webhook endpoint that enforces docs/networks.md (Discord webhooks).

- ``POST /api/webhooks/<id>/<token>``: an unknown (or deleted) webhook is ``404 {"message":"Unknown Webhook",
  "code":10015}``, a wrong token ``401 {"message":"Invalid Webhook Token","code":50027}``;
- ``content`` of at most 2000 characters (``400 50035 Invalid Form Body`` with the field error) and not empty
  (``400 50006``); ``username`` without "discord"/"clyde"; ``allowed_mentions.parse`` only ``users``,
  ``roles``, ``everyone``. Who a message would ping (``@everyone``, ``@here``, ``<@id>``, ``<@&id>``) under
  its ``allowed_mentions`` (absent = ping everything) is recorded in :attr:`DiscordMessage.pinged`;
- multipart bodies: the message in ``payload_json`` and files in ``files[n]``; each entry of ``attachments``
  names an uploaded file by ``id`` and may carry a ``description`` (the alt text) of at most 1024 characters;
  at most 10 files, each a decodable image of at most 10 MB; a message with files may have no content.
  Stored in :attr:`DiscordMessage.attachments` as ``(picture, description)``;
- ``?wait=true`` answers ``200`` with the Message; without it ``204`` and no body (the message is stored);
- ``?thread_id=`` must name one of :attr:`DiscordFake.threads` (``404 Unknown Channel``, code 10003);
- ``GET /api/webhooks/<id>/<token>`` returns the webhook with its ``guild_id`` and ``channel_id``;
- :meth:`DiscordFake.refuse` scripts an answer for the next POST;
- every answer carries ``X-RateLimit-*`` headers; a 429 (fault) has the JSON ``retry_after`` (float seconds),
  ``Retry-After`` (whole seconds) and ``X-RateLimit-Reset-After``.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fakes.multipart import BadForm, Picture, decode_image, form_parts, is_multipart
from fakes.server import FakeServer, Reply, Request, route

MAX_CONTENT = 2000
MAX_DESCRIPTION = 1024
MAX_FILES = 10
MAX_FILE_BYTES = 10_000_000
MENTION_TYPES = frozenset({"users", "roles", "everyone"})


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def reply(self) -> Reply:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return Reply.json(body, self.status)


def form_error(name: str, code: str, message: str) -> DiscordError:
    """A 50035 answer; a dotted ``name`` nests as Discord does (``attachments.0.description``)."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(name.split(".")):
        errors = {key: errors}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


@dataclass
class DiscordMessage:
    """A stored message: where it went, what it says, and whom it would have pinged."""

    id: str
    channel_id: str
    content: str
    username: str | None
    allowed_mentions: dict[str, Any] | None
    pinged: list[str]
    body: dict[str, Any] = field(default_factory=dict)
    attachments: list[tuple[Picture, str | None]] = field(default_factory=list)


def pings(content: str, allowed_mentions: dict[str, Any] | None) -> list[str]:
    """Whom ``content`` pings (``@everyone``, ``@here``, ``<@user>``, ``<@&role>``) under allowed_mentions.

    An absent ``allowed_mentions`` lets every mention ping, as on Discord.
    """
    allowed = MENTION_TYPES if allowed_mentions is None else set(allowed_mentions.get("parse", []))
    users = allowed_mentions.get("users", []) if allowed_mentions else []
    roles = allowed_mentions.get("roles", []) if allowed_mentions else []
    found: list[str] = []
    if "everyone" in allowed:
        found += re.findall(r"@(?:everyone|here)\b", content)
    for user in re.findall(r"<@!?(\d+)>", content):
        if "users" in allowed or user in users:
            found.append(f"user:{user}")
    for role in re.findall(r"<@&(\d+)>", content):
        if "roles" in allowed or role in roles:
            found.append(f"role:{role}")
    return found


class DiscordFake(FakeServer):
    """One webhook (``webhook_id``/``token``) posting to ``channel_id`` of ``guild_id``."""

    name = "discord"

    def __init__(
        self,
        webhook_id: str = "1180000000000000001",
        token: str = "good-webhook-token",
        *,
        guild_id: str = "1180000000000000002",
        channel_id: str = "1180000000000000003",
        webhook_name: str = "Tagcast",
    ) -> None:
        super().__init__()
        self.webhook_id, self.token = webhook_id, token
        self.guild_id, self.channel_id, self.webhook_name = guild_id, channel_id, webhook_name
        self.threads: set[str] = {"1180000000000000004"}
        self.deleted = False
        self.messages: list[DiscordMessage] = []
        self.refusals: list[Reply] = []
        """Answers for the next POSTs, in order (see :meth:`refuse`)."""
        self._next_id = 1190000000000000000

    def refuse(self, status: int, body: dict[str, Any]) -> None:
        """Answer the next POST with ``status`` and the JSON ``body`` (one the adapter never provokes)."""
        self.refusals.append(Reply.json(body, status))

    def webhook_url(self, token: str | None = None) -> str:
        return f"{self.base_url}/api/webhooks/{self.webhook_id}/{token or self.token}"

    # --- formats -----------------------------------------------------------------------------------------

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        headers = {
            "Retry-After": str(max(1, math.ceil(wait))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + wait:.3f}",
            "X-RateLimit-Reset-After": f"{wait:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "user",
        }
        body = {"message": "You are being rate limited.", "retry_after": wait, "global": False}
        return Reply.json(body, 429, headers), time.time() + wait

    def server_error(self, request: Request, status: int) -> Reply:
        if status in (502, 503, 504):
            return Reply(status, b"<html><body>error code: 502</body></html>", {"Content-Type": "text/html"})
        return Reply.json({"message": "500: Internal Server Error", "code": 0}, status)

    def not_found(self, request: Request) -> Reply:
        return Reply.json({"message": "404: Not Found", "code": 0}, 404)

    def decorate(self, request: Request, reply: Reply) -> Reply:
        reply.headers.update(
            {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "2.000"}
        )
        return reply

    # --- endpoints ---------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        if request.params["id"] != self.webhook_id or self.deleted:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if request.params["token"] != self.token:
            raise DiscordError(401, 50027, "Invalid Webhook Token")

    @route("GET", "/api/webhooks/{id}/{token}")
    def get_webhook(self, request: Request) -> Reply:
        try:
            self._authorize(request)
        except DiscordError as error:
            return error.reply()
        return Reply.json(
            {
                "application_id": None,
                "avatar": None,
                "channel_id": self.channel_id,
                "guild_id": self.guild_id,
                "id": self.webhook_id,
                "name": self.webhook_name,
                "type": 1,
                "token": self.token,
            }
        )

    @route("POST", "/api/webhooks/{id}/{token}")
    def execute(self, request: Request) -> Reply:
        if self.refusals:
            return self.refusals.pop(0)
        try:
            self._authorize(request)
            message = self._store(request)
        except DiscordError as error:
            return error.reply()
        if request.arg("wait", "false") != "true":
            return Reply(204)
        return Reply.json(
            {
                "id": message.id,
                "type": 0,
                "content": message.content,
                "channel_id": message.channel_id,
                "author": {
                    "id": self.webhook_id,
                    "username": message.username or self.webhook_name,
                    "bot": True,
                },
                "webhook_id": self.webhook_id,
                "mention_everyone": any(p.startswith("@") for p in message.pinged),
                "mentions": [],
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "flags": 0,
            }
        )

    def _multipart(self, request: Request) -> tuple[dict[str, Any], list[tuple[Picture, str | None]]]:
        try:
            form = form_parts(request)
            body = json.loads(form.value("payload_json") or "{}")
        except (BadForm, ValueError) as exc:
            raise DiscordError(400, 50109, "The request body contains invalid JSON.") from exc
        files = {p.name: p for p in form.files()}
        if len(files) > MAX_FILES:
            raise form_error("files", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FILES} or fewer in length.")
        attached: list[tuple[Picture, str | None]] = []
        for n, entry in enumerate(body.get("attachments") or []):
            upload = files.get(f"files[{entry.get('id')}]") if isinstance(entry, dict) else None
            if upload is None:
                raise form_error(f"attachments.{n}", "ATTACHMENT_NOT_FOUND", "Attachment data not found")
            description = entry.get("description")
            if description is not None and len(str(description)) > MAX_DESCRIPTION:
                raise form_error(
                    f"attachments.{n}.description",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_DESCRIPTION} or fewer in length.",
                )
            if len(upload.data) > MAX_FILE_BYTES:
                raise DiscordError(413, 40005, "Request entity too large")
            try:
                picture = decode_image(upload.data)
            except ValueError as exc:
                raise form_error(f"files.{n}", "FILE_INVALID", "Not a valid image") from exc
            attached.append((picture, description))
        return body, attached

    def _store(self, request: Request) -> DiscordMessage:
        attachments: list[tuple[Picture, str | None]] = []
        if is_multipart(request):
            body, attachments = self._multipart(request)
        else:
            body = request.fields()
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            raise form_error("content", "STRING_TYPE_CONVERT", "Could not interpret value as string.")
        if not content and not body.get("embeds") and not attachments:
            raise DiscordError(400, 50006, "Cannot send an empty message")
        if content and len(content) > MAX_CONTENT:
            raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length.")
        username = body.get("username")
        if username is not None and (
            not 1 <= len(username) <= 80 or re.search("discord|clyde", username, re.IGNORECASE)
        ):
            raise form_error(
                "username", "USERNAME_INVALID_CONTAINS", "Username cannot contain discord or clyde"
            )
        mentions = body.get("allowed_mentions")
        if mentions is not None and not (
            isinstance(mentions, dict)
            and isinstance(mentions.get("parse", []), list)
            and set(mentions.get("parse", [])) <= MENTION_TYPES
        ):
            raise form_error("allowed_mentions", "MENTION_INVALID", "Invalid allowed_mentions")
        channel_id = self.channel_id
        thread = request.arg("thread_id")
        if thread is not None:
            if thread not in self.threads:
                raise DiscordError(404, 10003, "Unknown Channel")
            channel_id = thread
        self._next_id += 1
        message = DiscordMessage(
            id=str(self._next_id),
            channel_id=channel_id,
            content=content or "",
            username=username,
            allowed_mentions=mentions,
            pinged=pings(content or "", mentions),
            body=body,
            attachments=attachments,
        )
        self.messages.append(message)
        return message
