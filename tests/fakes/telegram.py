"""A fake Telegram Bot API that enforces docs/networks.md (Telegram) the way the real server answers.

- ``/bot<token>/<method>``: a wrong token is ``401 Unauthorized``, a token that is not ``<digits>:<secret>``
  ``404 Not Found``, an unknown method ``404 Not Found``; every answer is ``{"ok", "result"}`` or
  ``{"ok":false,"error_code","description","parameters"?}``;
- ``sendMessage``: ``chat_id`` as a number, a numeric string or ``@username``; an unknown chat is
  ``400 chat not found``, a chat the bot is not in ``403 Forbidden: bot is not a member of the channel
  chat``, a migrated group ``400`` with ``parameters.migrate_to_chat_id``; ``parse_mode`` MarkdownV2 / HTML is
  parsed (:func:`parse_markdown_v2`, :func:`parse_html`) and an unescaped reserved character is
  ``400 Bad Request: can't parse entities: …``; the text *after* parsing must be 1..4096 UTF-16 code units;
  ``reply_parameters.message_id`` must name a message of that chat;
- ``sendPhoto`` (multipart ``photo`` file) and ``sendMediaGroup`` (``media`` JSON naming ``attach://<field>``
  files, 2-10 photos): each photo must decode, be at most 10 MB with width + height at most 10000 and a side
  ratio at most 20; the ``caption`` after parsing is at most 1024 UTF-16 code units (``400 Bad Request:
  message caption is too long``); there is no alt text field. A media group is stored as one
  :class:`Message` (its first message id; ``album`` holds the others) with every photo in ``photos``;
- ``getMe``, ``getChat``;
- :meth:`TelegramFake.refuse` scripts an error answer for the next ``sendMessage``;
- a 429 (fault) is ``Too Many Requests: retry after N`` with ``parameters.retry_after`` and no header, as the
  Bot API sends it; 502-504 come as nginx's HTML page, other 5xx as JSON.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fakes.multipart import BadForm, Picture, decode_image, form_parts
from fakes.server import FakeServer, Reply, Request, route
from scheduler.length.graphemes import utf16_length

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10_000_000
MAX_PHOTO_SIDES = 10_000
MAX_PHOTO_RATIO = 20
MARKDOWN_V2_RESERVED = frozenset("\\_*[]()~`>#+-=|{}.!")
TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")


class EntityParseError(ValueError):
    """Invalid text for its parse mode; ``str()`` is what Telegram says after ``can't parse entities:``."""


def _offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_TOGGLES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}


def _reserved(char: str) -> EntityParseError:
    return EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _unclosed(text: str, name: str, index: int) -> EntityParseError:
    return EntityParseError(f"Can't find end of {name} entity at byte offset {_offset(text, index)}")


def _skip_code(text: str, i: int, out: list[str]) -> int:
    """Past the code or pre entity starting at ``i``; inside it only ``\\`` escapes."""
    fence = "```" if text.startswith("```", i) else "`"
    start, i = i, i + len(fence)
    if fence == "```":
        newline = text.find("\n", i)
        if newline != -1 and re.fullmatch(r"[A-Za-z0-9_+-]*", text[i:newline]):
            i = newline + 1
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif text.startswith(fence, i):
            return i + len(fence)
        else:
            out.append(text[i])
            i += 1
    raise _unclosed(text, "Pre" if fence == "```" else "Code", start)


def _skip_url(text: str, i: int, start: int) -> int:
    """Past ``(url)`` at ``i`` (which must be ``(``); inside the URL only ``)`` and ``\\`` are escaped."""
    if not text.startswith("(", i):
        raise EntityParseError(f"Can't find end of a url at byte offset {_offset(text, start)}")
    i += 1
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
        elif text[i] == ")":
            return i + 1
        else:
            i += 1
    raise EntityParseError(f"Can't find end of a url at byte offset {_offset(text, start)}")


def parse_markdown_v2(text: str) -> str:
    r"""The text a MarkdownV2 message shows, or EntityParseError worded as the Bot API words it.

    ``\`` escapes any character 1..126; ``* _ __ ~ ||`` toggle entities that must be closed and nest;
    ```` ` ```` and ```` ``` ```` open code, in which only ``\`` escapes; ``[text](url)`` is a link whose URL
    escapes only ``)`` and ``\``; ``>`` at the start of a line is a quote; any other reserved character is an
    error.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or not 1 <= ord(text[i + 1]) <= 126:
                raise _reserved("\\")
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _skip_code(text, i, out)
        elif char == "[":
            stack.append(("TextUrl", i))
            i += 1
        elif char == "]" and stack and stack[-1][0] == "TextUrl":
            i = _skip_url(text, i + 1, stack.pop()[1])
        elif (marker := text[i : i + 2] if text[i : i + 2] in ("__", "||") else char) in _TOGGLES:
            name = _TOGGLES[marker]
            if stack and stack[-1][0] == name:
                stack.pop()
            elif any(open_name == name for open_name, _ in stack):
                raise _unclosed(text, *stack[-1])
            else:
                stack.append((name, i))
            i += len(marker)
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1
        elif char in MARKDOWN_V2_RESERVED:
            raise _reserved(char)
        else:
            out.append(char)
            i += 1
    if stack:
        raise _unclosed(text, *stack[-1])
    return "".join(out)


HTML_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:=(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def parse_html(text: str) -> str:
    """The text an HTML-mode message shows, or EntityParseError.

    Only the Bot API's tags, properly nested; ``<``, ``>`` and ``&`` outside a tag or an entity (``&lt; &gt;
    &amp; &quot;`` or numeric) are refused, as the Bot API documentation requires.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise EntityParseError(f"Unclosed start tag at byte offset {_offset(text, i)}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in HTML_TAGS:
                kind = "end" if closing else "start"
                raise EntityParseError(f'Unsupported {kind} tag "{name}" at byte offset {_offset(text, i)}')
            if not closing:
                stack.append((name, i))
            elif stack and stack[-1][0] == name:
                stack.pop()
            else:
                expected = stack[-1][0] if stack else ""
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_offset(text, i)}, "
                    f'expected "</{expected}>", found "</{name}>"'
                )
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise EntityParseError(f"Unsupported HTML entity at byte offset {_offset(text, i)}")
            named, decimal, hexadecimal = match.groups()
            out.append(_NAMED[named] if named else chr(int(decimal) if decimal else int(hexadecimal, 16)))
            i = match.end()
        elif char == ">":
            raise EntityParseError(
                f"Character '>' must be replaced with &gt; at byte offset {_offset(text, i)}"
            )
        else:
            out.append(char)
            i += 1
    if stack:
        name, start = stack[-1]
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{name}" at byte offset {_offset(text, start)}'
        )
    return "".join(out)


def shown_text(text: str, parse_mode: str | None) -> str:
    """What the chat shows for ``text`` sent with ``parse_mode`` (case-insensitive, as in the Bot API)."""
    mode = (parse_mode or "").lower()
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "html":
        return parse_html(text)
    return text


class BotApiError(Exception):
    """An error answer: ``{"ok":false,"error_code","description","parameters"?}``."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def reply(self) -> Reply:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return Reply.json(body, self.status)


def bad_request(what: str, parameters: dict[str, Any] | None = None) -> BotApiError:
    return BotApiError(400, f"Bad Request: {what}", parameters)


@dataclass
class Chat:
    """A chat the fake knows: ``member`` says whether the bot may post there."""

    id: int
    type: str = "channel"
    title: str = "Tagcast News"
    username: str | None = None
    member: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Message:
    """A message the fake stored: ``text`` as the chat shows it, ``raw`` as it was sent."""

    message_id: int
    chat_id: int
    text: str
    raw: str
    parse_mode: str | None
    reply_to: int | None
    link_preview_options: dict[str, Any] | None
    disable_notification: bool
    fields: dict[str, Any] = field(default_factory=dict)
    photos: list[Picture] = field(default_factory=list)
    album: list[int] = field(default_factory=list)
    """The other message ids of a media group."""


class TelegramFake(FakeServer):
    """The Bot API for one bot (``token``) and some chats (a public channel ``@tagcastnews`` by default)."""

    name = "telegram"

    def __init__(self, token: str = "123456:good-token", chats: list[Chat] | None = None) -> None:
        super().__init__()
        self.token = token
        self.bot = {
            "id": int(token.split(":", maxsplit=1)[0]),
            "is_bot": True,
            "first_name": "Tagcast",
            "username": "tagcast_bot",
        }
        self.chats = chats if chats is not None else [Chat(id=-1001234567890, username="tagcastnews")]
        self.migrated: dict[int, int] = {}
        """Old group id -> supergroup id: sending to the old id answers ``migrate_to_chat_id``."""
        self.messages: list[Message] = []
        self.refusals: list[BotApiError] = []
        """Errors the next ``sendMessage`` calls answer, in order (see :meth:`refuse`)."""
        self._next_id = 41

    def refuse(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        """Answer the next ``sendMessage`` with this error (a refusal the adapter never provokes itself)."""
        self.refusals.append(BotApiError(status, description, parameters))

    # --- error formats ---------------------------------------------------------------------------------

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        seconds = max(1, math.ceil(wait))
        error = BotApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
        return error.reply(), time.time() + seconds

    def server_error(self, request: Request, status: int) -> Reply:
        if status in (502, 503, 504):
            page = f"<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>nginx</body></html>"
            return Reply(status, page.encode(), {"Content-Type": "text/html"})
        return BotApiError(status, "Internal Server Error").reply()

    def not_found(self, request: Request) -> Reply:
        return BotApiError(404, "Not Found").reply()

    # --- helpers ---------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        token = request.params["token"]
        if not TOKEN.fullmatch(token):
            raise BotApiError(404, "Not Found")
        if token != self.token:
            raise BotApiError(401, "Unauthorized")

    def _chat(self, chat_id: Any) -> Chat:
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        key = str(chat_id)
        if re.fullmatch(r"-?\d+", key) and int(key) in self.migrated:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[int(key)]},
            )
        for chat in self.chats:
            if key == str(chat.id) or (chat.username and key.lower() == f"@{chat.username.lower()}"):
                if not chat.member:
                    raise BotApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
                return chat
        raise bad_request("chat not found")

    def _answer(self, request: Request, method: Any) -> Reply:
        try:
            self._authorize(request)
            return Reply.json({"ok": True, "result": method(request.fields())})
        except BotApiError as error:
            return error.reply()

    # --- methods ---------------------------------------------------------------------------------------

    @route("POST", "/bot{token}/getMe")
    def get_me(self, request: Request) -> Reply:
        return self._answer(request, lambda fields: self.bot)

    @route("POST", "/bot{token}/getChat")
    def get_chat(self, request: Request) -> Reply:
        return self._answer(request, lambda fields: self._chat(fields.get("chat_id")).to_json())

    @route("POST", "/bot{token}/sendMessage")
    def send_message(self, request: Request) -> Reply:
        return self._answer(request, self._send)

    def _send(self, fields: dict[str, Any]) -> dict[str, Any]:
        if self.refusals:
            raise self.refusals.pop(0)
        chat = self._chat(fields.get("chat_id"))
        raw = fields.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise bad_request("message text is empty")
        parse_mode = fields.get("parse_mode")
        if parse_mode is not None and str(parse_mode).lower() not in ("markdownv2", "html", "markdown", ""):
            raise bad_request(f"unsupported parse_mode {parse_mode}")
        try:
            text = shown_text(raw, parse_mode).strip()
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        if not text:
            raise bad_request("message text is empty")
        if utf16_length(text) > MAX_TEXT:
            raise bad_request("message is too long")
        reply_to = self._reply_target(chat, fields.get("reply_parameters"))
        preview = fields.get("link_preview_options")
        if preview is not None and not (
            isinstance(preview, dict)
            and set(preview)
            <= {"is_disabled", "url", "prefer_small_media", "prefer_large_media", "show_above_text"}
        ):
            raise bad_request("can't parse link preview options")
        self._next_id += 1
        message = Message(
            message_id=self._next_id,
            chat_id=chat.id,
            text=text,
            raw=raw,
            parse_mode=parse_mode,
            reply_to=reply_to,
            link_preview_options=preview,
            disable_notification=bool(fields.get("disable_notification")),
            fields=fields,
        )
        self.messages.append(message)
        answer: dict[str, Any] = {
            "message_id": message.message_id,
            "sender_chat": chat.to_json(),
            "chat": chat.to_json(),
            "date": int(time.time()),
            "text": text,
        }
        if reply_to is not None:
            answer["reply_to_message"] = {"message_id": reply_to, "chat": chat.to_json()}
        return answer

    # --- photos ----------------------------------------------------------------------------------------

    @route("POST", "/bot{token}/sendPhoto")
    def send_photo(self, request: Request) -> Reply:
        return self._answer_form(request, single=True)

    @route("POST", "/bot{token}/sendMediaGroup")
    def send_media_group(self, request: Request) -> Reply:
        return self._answer_form(request, single=False)

    def _answer_form(self, request: Request, *, single: bool) -> Reply:
        try:
            self._authorize(request)
            try:
                form = form_parts(request)
            except BadForm as exc:
                raise bad_request(f"can't parse request: {exc}") from exc
            fields: dict[str, Any] = form.values()
            for key in ("reply_parameters", "media", "disable_notification"):
                if key in fields:
                    fields[key] = _json_field(fields[key], key)
            if single:
                photo = form.file("photo")
                if photo is None:
                    raise bad_request("there is no photo in the request")
                items = [{"caption": fields.get("caption"), "parse_mode": fields.get("parse_mode")}]
                photos = [_photo(photo.data)]
            else:
                items, photos = self._album(form, fields.get("media"))
            return Reply.json({"ok": True, "result": self._store_photos(fields, items, photos, single)})
        except BotApiError as error:
            return error.reply()

    def _album(self, form: Any, media: Any) -> tuple[list[dict[str, Any]], list[Picture]]:
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of messages in the media group: 2-10 are allowed")
        photos = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") != "photo":
                raise bad_request("can't parse InputMedia: media type is not photo")
            name = str(item.get("media") or "")
            attached = form.file(name.removeprefix("attach://")) if name.startswith("attach://") else None
            if attached is None:
                raise bad_request(f"wrong file identifier/HTTP URL specified: {name!r} is not attached")
            photos.append(_photo(attached.data))
        return media, photos

    def _store_photos(
        self, fields: dict[str, Any], items: list[dict[str, Any]], photos: list[Picture], single: bool
    ) -> Any:
        if self.refusals:
            raise self.refusals.pop(0)
        chat = self._chat(fields.get("chat_id"))
        captions = []
        for item in items:
            raw = item.get("caption") or ""
            try:
                shown = shown_text(str(raw), item.get("parse_mode")).strip()
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from exc
            if utf16_length(shown) > MAX_CAPTION:
                raise bad_request("message caption is too long")
            captions.append((str(raw), shown, item.get("parse_mode")))
        reply_to = self._reply_target(chat, fields.get("reply_parameters"))
        ids = [self._next_id + 1 + n for n in range(len(photos))]
        self._next_id = ids[-1]
        raw, text, parse_mode = captions[0]
        self.messages.append(
            Message(
                message_id=ids[0],
                chat_id=chat.id,
                text=text,
                raw=raw,
                parse_mode=parse_mode,
                reply_to=reply_to,
                link_preview_options=None,
                disable_notification=bool(fields.get("disable_notification")),
                fields=fields,
                photos=photos,
                album=ids[1:],
            )
        )
        answers = []
        for n, message_id in enumerate(ids):
            answer: dict[str, Any] = {
                "message_id": message_id,
                "chat": chat.to_json(),
                "date": int(time.time()),
                "photo": [
                    {"file_id": f"photo-{message_id}", "width": photos[n].width, "height": photos[n].height}
                ],
            }
            if captions[n][1]:
                answer["caption"] = captions[n][1]
            if not single:
                answer["media_group_id"] = str(ids[0])
            answers.append(answer)
        return answers[0] if single else answers

    def _reply_target(self, chat: Chat, parameters: Any) -> int | None:
        if parameters is None:
            return None
        if not isinstance(parameters, dict) or not isinstance(parameters.get("message_id"), int):
            raise bad_request("can't parse reply parameters JSON object")
        target = parameters["message_id"]
        if not any(m.chat_id == chat.id and m.message_id == target for m in self.messages):
            raise bad_request("message to be replied not found")
        return int(target)


def _json_field(value: str, key: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise bad_request(f"can't parse {key} JSON object") from exc


def _photo(data: bytes) -> Picture:
    try:
        picture = decode_image(data)
    except ValueError as exc:
        raise bad_request("IMAGE_PROCESS_FAILED") from exc
    if picture.size > MAX_PHOTO_BYTES:
        raise bad_request("file is too big")
    if picture.width + picture.height > MAX_PHOTO_SIDES:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    if max(picture.width, picture.height) > MAX_PHOTO_RATIO * min(picture.width, picture.height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return picture
