"""The ``discord`` adapter: posts through a channel webhook (docs/networks.md, Discord webhooks).

Configuration (``[channels.<name>]``)::

    network = "discord"
    # webhook_url from TAGCAST_CHANNELS__<NAME>__WEBHOOK_URL (or webhook_url_file):
    #   https://discord.com/api/webhooks/<id>/<token>   (the token is the secret)
    # username = "Tagcast"                 # optional: the name shown instead of the webhook's
    # options = { thread_id = "1234…" }    # optional: post into this thread of the channel

Each part is one ``POST <webhook_url>?wait=true`` with ``{"content", "allowed_mentions": {"parse": []}}``, so
a post never pings anyone and the answer is the stored Message (without ``wait`` Discord answers 204 and drops
invalid messages silently). Webhooks cannot reply to a message: the parts of a thread are consecutive messages
in the channel, or in the Discord thread named by ``options.thread_id``.

The receipt holds the message ids; its URL is ``https://discord.com/channels/<guild>/<channel>/<id>`` once the
guild is known from ``GET <webhook_url>`` (asked once per adapter; without it the URL is ``None``).

Exactly once: webhooks have no idempotency key. Before each POST the part's index is saved in the journal as
``in_flight``, after it the message id joins ``sent``; a retry resumes after ``sent``, and a part whose answer
was lost makes the delivery :class:`~scheduler.errors.UnknownOutcome`, never a resend.

Images: the first part of a post with images is sent as ``multipart/form-data``: the message as
``payload_json`` with ``attachments: [{"id": n, "filename", "description": <alt text>}]`` and each image as
the file field ``files[n]`` (docs/networks.md, Discord webhooks: media). Discord shows the description as the
image's alt text (at most 1024 characters).

The webhook URL holds the secret token: messages and errors show it redacted (``/webhooks/***/***``).
"""

from __future__ import annotations

import json
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import decode_json, error_reason, read_json, refuse_over_length, send
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.parts import PartsJournal
from scheduler.adapters.uploads import file_name, upload_file
from scheduler.config.credentials import secret_env_var
from scheduler.errors import AuthError, DeliveryError, PermanentDeliveryError, UnknownOutcome
from scheduler.lazy import httpx
from scheduler.media.model import MediaLimits

UNKNOWN_WEBHOOK = 10015
UNKNOWN_CHANNEL = 10003
INVALID_FORM_BODY = 50035


def form_errors(errors: Any, path: str = "") -> list[str]:
    """Discord's nested ``errors`` object of a 50035 answer as ``field: message`` lines.

    >>> form_errors({"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000"}]}})
    ['content: Must be 2000']
    """
    if not isinstance(errors, dict):
        return []
    lines: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            lines += [f"{path or 'body'}: {e.get('message')}" for e in value if isinstance(e, dict)]
        else:
            lines += form_errors(value, f"{path}.{key}" if path else str(key))
    return lines


def message_url(guild_id: str | None, channel_id: str | None, message_id: str) -> str | None:
    """``https://discord.com/channels/<guild>/<channel>/<message>``, or ``None`` without guild or channel."""
    if not guild_id or not channel_id:
        return None
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


class DiscordAdapter(Adapter):
    """Posts through a Discord webhook; see the module docstring."""

    max_length = 2000
    """Code points: the unit is unconfirmed (docs/networks.md)."""
    refuses_empty = True
    secrets = ("webhook_url",)
    settings_keys = frozenset({"username"})
    text_entities = "links-only"  # "#word" and "@user" are plain text

    @classmethod
    def body_retry_after(cls, body: Any) -> float | None:
        """A 429's JSON ``retry_after`` (seconds, with decimals)."""
        wait = body.get("retry_after") if isinstance(body, dict) else None
        return wait if isinstance(wait, int | float) and not isinstance(wait, bool) else None

    network = "discord"
    media_limits = MediaLimits(
        max_bytes=10_000_000, mimes=("image/jpeg", "image/png", "image/webp", "image/gif"), alt_max=1024
    )
    """Attachment ``description`` at most 1024; 10 MB is the upload limit of an unboosted server,
    unconfirmed (docs/networks.md)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._webhook: dict[str, Any] | None = None

    def _webhook_url(self) -> str:
        url = self.settings.secret_value("webhook_url")
        if not url:
            env = secret_env_var(self.channel, "webhook_url")
            raise AuthError(
                f"discord channel '{self.channel}' has no webhook_url; set {env} (or webhook_url_file) "
                "to the URL from the channel's Integrations > Webhooks > Copy Webhook URL"
            )
        if not url.startswith(("https://", "http://")):
            raise AuthError(
                f"discord channel '{self.channel}': webhook_url is not an http(s) URL; copy it again "
                "from the channel's Integrations > Webhooks"
            )
        return url

    def _reason(self, response: httpx.Response) -> str:
        """The server's reason with the webhook token masked (a proxy's error page may echo the URL)."""
        reason = error_reason(response, redact=self.guard.redact)
        url = self.settings.secret_value("webhook_url") or ""
        token = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        for secret in (url, token):
            if len(secret) >= 8:
                reason = reason.replace(secret, "***")
        return reason

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        try:
            data = decode_json(response.content)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        code = data.get("code")
        if code == UNKNOWN_WEBHOOK:
            return AuthError(
                f"discord: the webhook of channel '{self.channel}' was deleted "
                f"({response.status_code} Unknown Webhook); create a new one and set webhook_url to its URL"
            )
        if response.status_code == 401:
            return AuthError(
                f"discord: the webhook token of channel '{self.channel}' was rejected "
                f"({self._reason(response)}); copy the webhook URL again"
            )
        if code == UNKNOWN_CHANNEL and self.settings.options.get("thread_id"):
            return PermanentDeliveryError(
                f"discord: thread {self.settings.options['thread_id']} not found ({self._reason(response)}); "
                f"fix options.thread_id of channel '{self.channel}' (a thread in the webhook's channel)"
            )
        if code == INVALID_FORM_BODY:
            details = "; ".join(form_errors(data.get("errors"))) or self._reason(response)
            return PermanentDeliveryError(f"discord refused the message (400 Invalid Form Body): {details}")
        return None

    # --- publishing ----------------------------------------------------------------------------------------

    def _parts(self, post: Outgoing, journal: Journal) -> PartsJournal:
        advice = "webhooks have no idempotency key: check the channel"
        return PartsJournal(journal, post, network=self.network, advice=advice)

    def _payload(self, text: str) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": text, "allowed_mentions": {"parse": []}}
        if self.settings.username:
            payload["username"] = self.settings.username
        return payload

    def _params(self) -> dict[str, str]:
        params = {"wait": "true"}
        thread_id = self.settings.options.get("thread_id")
        if thread_id:
            params["thread_id"] = str(thread_id)
        return params

    def _body(self, post: Outgoing, index: int) -> dict[str, Any]:
        """The keyword arguments of the POST of part ``index``: JSON, or multipart with the images."""
        payload = self._payload(post.parts[index])
        if index > 0 or not post.media:
            return {"json": payload}
        names = [file_name(item, f"image{n}") for n, item in enumerate(post.media)]
        payload["attachments"] = [
            {"id": n, "filename": names[n], "description": item.alt} for n, item in enumerate(post.media)
        ]
        files = {f"files[{n}]": upload_file(item, names[n]) for n, item in enumerate(post.media)}
        return {"data": {"payload_json": json.dumps(payload)}, "files": files}

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        url = self._webhook_url()
        parts = self._parts(post, journal)
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        for index in parts.pending():
            async with parts.attempt(index):
                response = await send(
                    self.http,
                    "POST",
                    url,
                    network=self.network,
                    params=self._params(),
                    errors=self._errors,
                    idempotent=False,
                    guard=self.guard,
                    **self._body(post, index),
                )
                message = read_json(response, network=self.network, idempotent=False)
            if "id" not in message:
                raise UnknownOutcome(
                    f"discord: the webhook answered {response.status_code} without a message id for "
                    f"part {index + 1} of delivery {post.delivery_id}; check the channel, then "
                    "`tagcast queue resolve`"
                )
            await parts.done({"id": str(message["id"]), "channel_id": str(message.get("channel_id") or "")})
        return await self._receipt(parts)

    async def _receipt(self, parts: PartsJournal) -> Receipt:
        sent: list[dict[str, str]] = parts.sent
        guild_id = await self._guild_id()
        urls = [message_url(guild_id, m.get("channel_id"), m["id"]) for m in sent]
        return Receipt(
            remote_ids=tuple(m["id"] for m in sent),
            url=urls[0] if urls else None,
            extra={"urls": urls, "guild_id": guild_id},
        )

    async def _guild_id(self) -> str | None:
        """The webhook's guild, for links; ``None`` when it cannot be read (the post is out either way)."""
        try:
            webhook = await self._get_webhook()
        except DeliveryError:
            return None
        guild_id = webhook.get("guild_id")
        return str(guild_id) if guild_id else None

    async def _get_webhook(self) -> dict[str, Any]:
        if self._webhook is None:
            response = await send(
                self.http,
                "GET",
                self._webhook_url(),
                network=self.network,
                errors=self._errors,
                guard=self.guard,
            )
            self._webhook = read_json(response, network=self.network)
        return self._webhook

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """The receipt when the journal has every part, UnknownOutcome for a part in flight, else ``None``
        (no part was in flight: ``publish`` resumes after the parts already sent)."""
        parts = self._parts(post, journal)
        return await self._receipt(parts) if parts.finished() else None

    # --- checking ------------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        """``GET <webhook_url>``: the webhook's name and channel (nothing is posted)."""
        self._webhook = None
        webhook = await self._get_webhook()
        guild_id, channel_id = webhook.get("guild_id"), webhook.get("channel_id")
        thread_id = self.settings.options.get("thread_id")
        where = f"channel {channel_id}" + (f", thread {thread_id}" if thread_id else "")
        return Identity(
            account=f"webhook '{webhook.get('name') or webhook.get('id')}' -> {where}",
            url=f"https://discord.com/channels/{guild_id}/{thread_id or channel_id}" if guild_id else None,
            detail=f"guild {guild_id}" if guild_id else None,
        )
