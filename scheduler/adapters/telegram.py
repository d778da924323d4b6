"""The ``telegram`` adapter: a bot posts to a channel or group through the Bot API (docs/networks.md).

Configuration (``[channels.<name>]``)::

    network = "telegram"
    chat_id = "@mychannel"      # or a numeric id such as "-1001234567890"
    parse_mode = "MarkdownV2"   # optional: "MarkdownV2" or "HTML"; omitted = plain text
    # bot_token from TAGCAST_CHANNELS__<NAME>__BOT_TOKEN (or bot_token_file)
    # base_url = "http://127.0.0.1:8081"   # optional: a local Bot API server
    # options = { link_preview = true, silent = false }

Each part is one ``sendMessage``; the parts of a thread answer each other with
``reply_parameters: {"message_id": <previous>}``. Parts are plain text: with a ``parse_mode`` they are escaped
(:func:`escape_markdown_v2`, :func:`escape_html`), so the chat shows exactly the previewed text and Telegram's
4096 limit, counted after entity parsing, applies to the text the length rules counted. One link preview per
post: the first message shows the article's link, later parts show none.

Exactly once: the Bot API has no idempotency key and cannot read chat history. Before each ``sendMessage`` the
index of the part is saved in the journal as ``in_flight``; after it, the message id joins ``sent``. A retry
resumes after the parts in ``sent``; a part whose answer was lost (crash, read timeout) makes the delivery
:class:`~scheduler.errors.UnknownOutcome`, never a resend.

Images: a post with one image sends its first part as the ``caption`` of a ``sendPhoto`` (multipart upload of
the processed file); with two to four, a ``sendMediaGroup`` (an album) whose first photo carries the caption.
A caption is at most 1024 characters, so the first part of a post with images is fitted to that limit
(``length_rules(..., media=True)`` sets ``first_limit``), not cut at sending time. Later parts of a thread are
plain messages replying to the photo message (part 1 in the parts journal), each up to 4096 characters.
Telegram has no alt text field: the article's alt text is not sent.

The bot token is part of every URL path; messages and errors show the URL redacted (``/***/sendMessage``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import Files, decode_json, error_reason, read_json, refuse_over_length, send
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.parts import PartsJournal
from scheduler.adapters.uploads import upload_file
from scheduler.config.credentials import secret_env_var
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, DeliveryError, PermanentDeliveryError, UnknownOutcome
from scheduler.lazy import httpx
from scheduler.length import LengthRules
from scheduler.media.model import MediaLimits

DEFAULT_BASE_URL = "https://api.telegram.org"
CAPTION_LIMIT = 1024
"""A photo's caption is 0-1024 characters after entity parsing (docs/networks.md, Telegram: length)."""

MARKDOWN_V2_RESERVED = frozenset("\\_*[]()~`>#+-=|{}.!")
"""Characters to backslash-escape in MarkdownV2 text outside code and link URLs (docs/networks.md,
Telegram: MarkdownV2)."""

PARSE_MODES = {"markdownv2": "MarkdownV2", "html": "HTML"}

_MARKDOWN_V2_TABLE = str.maketrans({char: "\\" + char for char in MARKDOWN_V2_RESERVED})
_HTML_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_NUMERIC_CHAT = re.compile(r"-?\d+")


def escape_markdown_v2(text: str) -> str:
    r"""Escape plain ``text`` for ``parse_mode="MarkdownV2"``: each reserved character gets a backslash.

    After parsing, the chat shows exactly ``text``; hashtags and URLs are still detected by Telegram::

        >>> print(escape_markdown_v2("Khalkhin Gol (1939) #WW2 - read more!"))
        Khalkhin Gol \(1939\) \#WW2 \- read more\!
    """
    return text.translate(_MARKDOWN_V2_TABLE)


def escape_html(text: str) -> str:
    """Escape plain ``text`` for ``parse_mode="HTML"``: ``&``, ``<`` and ``>`` become entities.

    >>> escape_html("a < b & c > d")
    'a &lt; b &amp; c &gt; d'
    """
    return text.translate(_HTML_TABLE)


def message_link(chat: dict[str, Any], message_id: int | str) -> str | None:
    """The public link of a message: ``t.me/<username>/<id>`` or, for a private supergroup or channel,
    ``t.me/c/<chat id without -100>/<id>``; ``None`` for chats that have no message links."""
    username = chat.get("username")
    if isinstance(username, str) and username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id", ""))
    if chat_id.startswith("-100") and chat_id[4:].isdigit():
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


class TelegramAdapter(Adapter):
    """Posts through a Telegram bot; see the module docstring for configuration and exactly-once behaviour."""

    max_length = 4096
    length_unit = "utf16"
    """UTF-16 code units: the unit is unconfirmed (docs/networks.md), and the safer reading, as Telegram's
    entity offsets are UTF-16."""
    refuses_empty = True
    secrets = ("bot_token",)
    settings_keys = frozenset({"base_url", "chat_id", "parse_mode"})
    hashtag_url = "https://t.me/s/?q=%23{tag}"
    mention_url = "https://t.me/{user}"

    @classmethod
    def error_text(cls, body: Any) -> str | None:
        """The Bot API's ``{"ok": false, "description": ...}``."""
        description = body.get("description") if isinstance(body, dict) else None
        return description if isinstance(description, str) else None

    @classmethod
    def body_retry_after(cls, body: Any) -> float | None:
        """A 429's ``{"parameters": {"retry_after": seconds}}``."""
        parameters = body.get("parameters") if isinstance(body, dict) else None
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return wait if isinstance(wait, int | float) and not isinstance(wait, bool) else None

    network = "telegram"
    media_limits = MediaLimits(
        max_bytes=10_000_000, max_side=5000, mimes=("image/jpeg", "image/png"), alt_max=None
    )
    """``sendPhoto`` has no alt text field; 10 MB and width + height at most 10000 are the Bot API's
    documented photo rules, kept by a longer side of at most 5000 (docs/networks.md)."""

    @classmethod
    def length_rules(cls, settings: ChannelSettings, *, media: bool = False) -> LengthRules:
        """The text rules; with ``media`` the first part is a photo's caption, so its limit (``first_limit``)
        is at most :data:`CAPTION_LIMIT`; the later parts of a thread are messages, held to ``limit``."""
        rules = super().length_rules(settings, media=media)
        return replace(rules, first_limit=min(rules.limit, CAPTION_LIMIT)) if media else rules

    # --- configuration -------------------------------------------------------------------------------------

    def _env(self, key: str) -> str:
        return secret_env_var(self.channel, key)

    def _token(self) -> str:
        token = self.settings.secret_value("bot_token")
        if not token:
            raise AuthError(
                f"telegram channel '{self.channel}' has no bot_token; set {self._env('bot_token')} "
                "(or bot_token_file) to the token @BotFather gave you"
            )
        return token

    def _chat_id(self) -> int | str:
        chat_id = (self.settings.chat_id or "").strip()
        if not chat_id:
            raise AuthError(
                f"telegram channel '{self.channel}' has no chat_id; set chat_id in config/tagcast.toml to "
                '"@channelname" or the numeric id of the chat'
            )
        return int(chat_id) if _NUMERIC_CHAT.fullmatch(chat_id) else chat_id

    def _parse_mode(self) -> str | None:
        mode = self.settings.parse_mode
        if mode is None or not mode.strip():
            return None
        canonical = PARSE_MODES.get(mode.strip().lower())
        if canonical is None:
            raise PermanentDeliveryError(
                f"telegram channel '{self.channel}': parse_mode = {mode!r} is not supported; "
                'use "MarkdownV2", "HTML" or leave it out for plain text'
            )
        return canonical

    def _url(self, method: str) -> str:
        base = (self.settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        return f"{base}/bot{self._token()}/{method}"

    # --- HTTP ----------------------------------------------------------------------------------------------

    def _reason(self, response: httpx.Response) -> str:
        """The server's reason with the token masked (a proxy's error page may echo the URL path)."""
        reason = error_reason(response, redact=self.guard.redact, explain=self.error_text)
        token = self.settings.secret_value("bot_token")
        return reason.replace(token, "***") if token else reason

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        """Telegram's error body: ``{"ok":false,"error_code","description","parameters"}``."""
        status = response.status_code
        reason = self._reason(response)
        try:
            data = decode_json(response.content)
        except ValueError:
            data = None
        parameters = data.get("parameters") if isinstance(data, dict) else None
        if isinstance(parameters, dict) and parameters.get("migrate_to_chat_id") is not None:
            new_id = parameters["migrate_to_chat_id"]
            return PermanentDeliveryError(
                f"telegram: chat {self.settings.chat_id} was upgraded to a supergroup with id {new_id} "
                f"({reason}); set chat_id = \"{new_id}\" for channel '{self.channel}' in config/tagcast.toml "
                f"(or {self._env('chat_id')}) and resend"
            )
        if status in (401, 404):
            return AuthError(
                f"telegram: bot token rejected ({status} {reason}); check {self._env('bot_token')} "
                f"of channel '{self.channel}' against @BotFather"
            )
        if status == 400 and "chat not found" in reason.lower():
            return PermanentDeliveryError(
                f"telegram: chat {self.settings.chat_id} not found (400 {reason}); check chat_id of channel "
                f"'{self.channel}': \"@name\" of a public channel, or the numeric id (-100…) of a private one"
            )
        if status == 403:
            return AuthError(
                f"telegram: the bot may not post to chat {self.settings.chat_id} (403 {reason}); "
                "add the bot to the chat (as an administrator of a channel) with the right to post"
            )
        return None

    async def _call(
        self, method: str, payload: dict[str, Any], *, idempotent: bool, files: Files | None = None
    ) -> Any:
        """One Bot API call: a JSON body, or a multipart one when ``files`` are uploaded (then every field
        that is not a string is sent as JSON, as the Bot API reads form fields)."""
        body: dict[str, Any] = {"json": payload}
        if files:
            fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
            body = {"data": fields, "files": files}
        response = await send(
            self.http,
            "POST",
            self._url(method),
            network=self.network,
            errors=self._errors,
            idempotent=idempotent,
            guard=self.guard,
            **body,
        )
        data = read_json(response, network=self.network, idempotent=idempotent)
        if data.get("ok") is not True or "result" not in data:
            reason = self._reason(response)
            detail = f"telegram: {method} answered {response.status_code} without a result ({reason})"
            if idempotent:
                raise PermanentDeliveryError(detail)
            raise UnknownOutcome(f"{detail}; the message may be out, so it is not resent")
        return data["result"]

    # --- publishing ----------------------------------------------------------------------------------------

    def _escaped(self, text: str) -> str:
        mode = self._parse_mode()
        if mode == "MarkdownV2":
            return escape_markdown_v2(text)
        if mode == "HTML":
            return escape_html(text)
        return text

    def _payload(self, post: Outgoing, index: int) -> dict[str, Any]:
        mode = self._parse_mode()
        payload: dict[str, Any] = {"chat_id": self._chat_id(), "text": self._escaped(post.parts[index])}
        if mode:
            payload["parse_mode"] = mode
        options = self.settings.options
        if index == 0 and options.get("link_preview", True):
            preview: dict[str, Any] = {"is_disabled": False}
            if post.article.url:
                preview["url"] = post.article.url
        else:
            preview = {"is_disabled": True}
        payload["link_preview_options"] = preview
        if options.get("silent"):
            payload["disable_notification"] = True
        return payload

    def _parts(self, post: Outgoing, journal: Journal) -> PartsJournal:
        advice = "the Bot API has no idempotency key and cannot read the chat: check the chat"
        return PartsJournal(journal, post, network=self.network, advice=advice)

    def _photo_call(self, post: Outgoing) -> tuple[str, dict[str, Any], Files]:
        """The first part with the post's images: ``sendPhoto`` for one, ``sendMediaGroup`` for several; the
        caption is the part, escaped like a message text."""
        media = post.media
        mode = self._parse_mode()
        caption: dict[str, Any] = {"caption": self._escaped(post.parts[0])}
        if mode:
            caption["parse_mode"] = mode
        payload: dict[str, Any] = {"chat_id": self._chat_id()}
        if self.settings.options.get("silent"):
            payload["disable_notification"] = True
        if len(media) == 1:
            return "sendPhoto", {**payload, **caption}, {"photo": upload_file(media[0])}
        album = [
            {"type": "photo", "media": f"attach://photo{n}", **(caption if n == 0 else {})}
            for n in range(len(media))
        ]
        files = {f"photo{n}": upload_file(item) for n, item in enumerate(media)}
        return "sendMediaGroup", {**payload, "media": album}, files

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        self._token()
        parts = self._parts(post, journal)
        rules = self.length_rules(self.settings, media=bool(post.media))
        refuse_over_length(rules, post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        payloads = [self._payload(post, index) for index in range(len(post.parts))]
        for index in parts.pending():
            files: Files | None = None
            method, payload = "sendMessage", payloads[index]
            if index == 0 and post.media:
                method, payload, files = self._photo_call(post)
            if parts.sent:
                payload["reply_parameters"] = {"message_id": parts.sent[-1]}
            async with parts.attempt(index):
                answer = await self._call(method, payload, idempotent=False, files=files)
            message = answer[0] if isinstance(answer, list) and answer else answer
            if not isinstance(message, dict) or not isinstance(message.get("message_id"), int):
                raise UnknownOutcome(
                    f"telegram: {method} answered ok without a message_id for part {index + 1} of "
                    f"delivery {post.delivery_id}; check the chat, then run "
                    f"`tagcast queue resolve {post.delivery_id}`"
                )
            chat = message.get("chat") or {}
            parts.state["chat"] = {"id": chat.get("id"), "username": chat.get("username")}
            await parts.done(int(message["message_id"]))
        return self._receipt(parts)

    def _receipt(self, parts: PartsJournal) -> Receipt:
        sent = [str(message_id) for message_id in parts.sent]
        chat = parts.state.get("chat") or {}
        urls = [message_link(chat, message_id) for message_id in sent]
        return Receipt(
            remote_ids=tuple(sent),
            url=urls[0] if urls else None,
            extra={"chat_id": chat.get("id"), "urls": urls},
        )

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """The receipt when the journal has every part, UnknownOutcome for a part in flight, else ``None``
        (no part was in flight: ``publish`` resumes after the parts already sent)."""
        parts = self._parts(post, journal)
        return self._receipt(parts) if parts.finished() else None

    # --- checking ------------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        """``getMe`` and ``getChat``: the bot's name and the chat it posts to (nothing is posted)."""
        me = await self._call("getMe", {}, idempotent=True)
        try:
            chat = await self._call("getChat", {"chat_id": self._chat_id()}, idempotent=True)
        except AuthError:
            raise
        except PermanentDeliveryError as exc:
            raise AuthError(
                f"telegram: the bot cannot see chat {self.settings.chat_id}: {exc.reason}; check chat_id of "
                f"channel '{self.channel}' and that the bot was added to the chat"
            ) from exc
        bot = f"@{me.get('username') or me.get('first_name') or me.get('id')}"
        title = chat.get("title") or (f"@{chat['username']}" if chat.get("username") else str(chat.get("id")))
        username = chat.get("username")
        return Identity(
            account=f"{bot} -> {title}",
            url=f"https://t.me/{username}" if username else None,
            detail=f"{chat.get('type', 'chat')} {chat.get('id')}",
        )
