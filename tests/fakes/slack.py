"""A fake Slack incoming webhook that enforces docs/networks.md (Slack incoming webhooks).

- ``POST /services/<team>/<bot>/<secret>``, JSON ``{"text", "blocks"?, "thread_ts"?}`` (or a form field
  ``payload`` holding that JSON); it answers ``200`` with the text ``ok`` and **no** ``ts``;
- errors are plain-text codes: ``invalid_token`` (403, wrong secret), ``no_service`` (404, unknown webhook),
  ``channel_is_archived`` (410, :attr:`SlackFake.archived`), ``invalid_payload`` (400, not JSON),
  ``no_text`` (400, neither text nor blocks); a 429 (fault) is ``rate_limited`` with ``Retry-After``;
- :meth:`SlackFake.refuse` scripts a plain-text error for the next post;
- text over 40,000 characters is truncated, as Slack does;
- ``blocks``: at most 50; a ``section`` has ``text: {"type": "mrkdwn"|"plain_text", "text"}`` of at most 3000
  characters; an ``image`` has an ``image_url`` (http(s), at most 3000 characters: Slack fetches it, so a
  file cannot be sent) and an ``alt_text`` of 1..2000 characters; anything else is ``400 invalid_blocks``.
  With blocks, :attr:`SlackMessage.shown` is the section texts (what Slack shows instead of ``text``) and
  :attr:`SlackMessage.images` the ``(image_url, alt_text)`` of each image block;
- :attr:`SlackMessage.shown` is the text as Slack renders mrkdwn (``&amp; &lt; &gt;`` decoded, the only
  entities Slack knows, ``<url|label>`` shown as the label), and :attr:`SlackMessage.pinged` the
  ``<!channel>``, ``<!here>``, ``<!everyone>``, ``<@U…>`` it would ping.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fakes.server import FakeServer, Reply, Request, route

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_ALT = 2000
MAX_URL = 3000
_ANGLE = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_ENTITY = re.compile("&(?:amp|lt|gt);")


@dataclass
class SlackMessage:
    text: str
    shown: str
    pinged: list[str]
    body: dict[str, Any]
    images: list[tuple[str, str]] = field(default_factory=list)


class InvalidBlocks(ValueError):
    pass


def read_blocks(blocks: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The section texts and the ``(image_url, alt_text)`` of ``blocks``; InvalidBlocks as Slack refuses."""
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        raise InvalidBlocks(f"blocks must be a list of at most {MAX_BLOCKS}")
    texts: list[str] = []
    images: list[tuple[str, str]] = []
    for block in blocks:
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "section":
            text = block.get("text")
            if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
                raise InvalidBlocks("a section needs a text object")
            value = text.get("text")
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_SECTION:
                raise InvalidBlocks(f"section text must be 1..{MAX_SECTION} characters")
            texts.append(value)
        elif kind == "image":
            url, alt = block.get("image_url"), block.get("alt_text")
            if not isinstance(url, str) or not re.match(r"https?://", url) or len(url) > MAX_URL:
                raise InvalidBlocks("image_url must be an http(s) URL Slack can fetch")
            if not isinstance(alt, str) or not 1 <= len(alt) <= MAX_ALT:
                raise InvalidBlocks(f"alt_text must be 1..{MAX_ALT} characters")
            images.append((url, alt))
        else:
            raise InvalidBlocks(f"unsupported block type {kind!r}")
    return texts, images


def render_mrkdwn(text: str) -> tuple[str, list[str]]:
    """What Slack shows for ``text`` and whom it pings."""
    pinged: list[str] = []

    def angle(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("!"):
            pinged.append(target[1:].split("^")[0])
            return label or f"@{target[1:]}"
        if target.startswith("@"):
            pinged.append(target[1:])
            return label or target
        return label or target

    shown = _ANGLE.sub(angle, text)
    return _ENTITY.sub(lambda match: _ENTITIES[match.group(0)], shown), pinged


class SlackFake(FakeServer):
    """One incoming webhook ``/services/<team>/<bot>/<secret>``."""

    name = "slack"

    def __init__(self, team: str = "T0001", bot: str = "B0002", secret: str = "goodsecretvalue0123") -> None:
        super().__init__()
        self.team, self.bot, self.secret = team, bot, secret
        self.archived = False
        self.messages: list[SlackMessage] = []
        self.refusals: list[tuple[int, str]] = []
        """``(status, code)`` answers for the next posts, in order (see :meth:`refuse`)."""

    def refuse(self, status: int, code: str) -> None:
        """Answer the next post with ``status`` and the plain-text ``code`` (e.g. 400 ``invalid_payload``)."""
        self.refusals.append((status, code))

    def webhook_url(self, secret: str | None = None) -> str:
        return f"{self.base_url}/services/{self.team}/{self.bot}/{secret or self.secret}"

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        seconds = max(1, math.ceil(wait))
        return Reply.text("rate_limited", 429, {"Retry-After": str(seconds)}), time.time() + seconds

    def server_error(self, request: Request, status: int) -> Reply:
        return Reply.text("rollup_error" if status == 500 else "service_unavailable", status)

    def not_found(self, request: Request) -> Reply:
        return Reply.text("no_service", 404)

    @route("POST", "/services/{team}/{bot}/{secret}")
    def post(self, request: Request) -> Reply:
        if (request.params["team"], request.params["bot"]) != (self.team, self.bot):
            return Reply.text("no_service", 404)
        if request.params["secret"] != self.secret:
            return Reply.text("invalid_token", 403)
        if self.archived:
            return Reply.text("channel_is_archived", 410)
        if self.refusals:
            status, code = self.refusals.pop(0)
            return Reply.text(code, status)
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(request.body)
            else:
                body = json.loads(request.form()["payload"][-1])
        except (ValueError, KeyError):
            return Reply.text("invalid_payload", 400)
        if not isinstance(body, dict):
            return Reply.text("invalid_payload", 400)
        text = body.get("text")
        if not (isinstance(text, str) and text.strip()) and not body.get("blocks"):
            return Reply.text("no_text", 400)
        text = (text or "")[:MAX_TEXT]
        images: list[tuple[str, str]] = []
        if "blocks" in body:
            try:
                sections, images = read_blocks(body["blocks"])
            except InvalidBlocks:
                return Reply.text("invalid_blocks", 400)
            shown, pinged = render_mrkdwn("\n".join(sections))
        else:
            shown, pinged = render_mrkdwn(text)
        message = SlackMessage(text=text, shown=shown, pinged=pinged, body=body, images=images)
        self.messages.append(message)
        return Reply(200, b"ok", {"Content-Type": "text/html"})
