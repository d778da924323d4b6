"""The ``slack`` adapter: posts through an incoming webhook (docs/networks.md, Slack incoming webhooks).

Configuration (``[channels.<name>]``)::

    network = "slack"
    # webhook_url from TAGCAST_CHANNELS__<NAME>__WEBHOOK_URL (or webhook_url_file):
    #   https://hooks.slack.com/services/T…/B…/…   (the last segment is the secret)

Each part is one ``POST <webhook_url>`` with ``{"text": escape_mrkdwn(part)}``; Slack answers ``200 ok``.
Parts are plain text, so ``&``, ``<`` and ``>`` are escaped (:func:`escape_mrkdwn`): the channel shows exactly
the previewed text and nothing in it becomes a link label or an ``@channel`` ping; Slack still links URLs.

Limits of incoming webhooks, and what this adapter does about them:

- No ``ts`` is returned, so a reply chain cannot be built: :attr:`SlackAdapter.supports_threads` is ``False``,
  and a post given several parts is sent as consecutive messages.
- No message id and no permalink: the receipt has ``remote_ids=()`` and ``url=None``; ``extra["messages"]``
  counts the messages sent.
- No read-only call: :meth:`SlackAdapter.check` cannot verify the webhook without posting, so it only checks
  the URL's shape and says so (``Identity.detail``); it never posts.
- No idempotency: before each POST the part's index is saved in the journal as ``in_flight``, after it the
  count of ``sent`` parts grows; a part whose answer was lost makes the delivery
  :class:`~scheduler.errors.UnknownOutcome`, never a resend.

Images: Slack shows an image only from a public URL it fetches itself (an ``image`` block with ``image_url``
and ``alt_text``); an incoming webhook cannot upload a file. So only the article's ``https://`` images are
sent, as image blocks after the first part (then carried in ``section`` blocks of at most 3000 characters,
since Slack shows blocks instead of ``text``); an image from a local file is left out, with a warning, and the
text goes anyway.

The webhook URL is the secret: messages and errors show it redacted (``/services/***/***/***``).
"""

from __future__ import annotations

from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import redact_url, refuse_over_length, send
from scheduler.adapters.media_checks import public_images, refuse_unfit_media
from scheduler.adapters.parts import PartsJournal
from scheduler.config.credentials import secret_env_var
from scheduler.errors import AuthError, DeliveryError
from scheduler.lazy import httpx
from scheduler.media.model import Media, MediaLimits

SECTION_LIMIT = 3000
"""Characters of a section block's text (docs/networks.md, Slack: length)."""

_MRKDWN_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

CHANNEL_GONE = {
    "invalid_token": "the webhook's secret was rejected (the URL is wrong, or the webhook was revoked)",
    "action_prohibited": "an admin restricted posting to this channel",
    "no_service": "the webhook does not exist (removed, or its app uninstalled)",
    "channel_not_found": "the webhook's channel no longer exists",
    "channel_is_archived": "the webhook's channel is archived",
    "no_active_hooks": "the webhook is disabled",
}
"""Plain-text error codes that mean every post will fail until the webhook is fixed: AuthError."""


def escape_mrkdwn(text: str) -> str:
    """Escape plain ``text`` for Slack mrkdwn: ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``, ``&gt;``.

    >>> escape_mrkdwn("<!channel> a & b > c")
    '&lt;!channel&gt; a &amp; b &gt; c'
    """
    return text.translate(_MRKDWN_TABLE)


def sections(text: str) -> list[dict[str, Any]]:
    """``text`` (plain) as mrkdwn section blocks of at most :data:`SECTION_LIMIT` characters once escaped,
    cut at the last space before the limit where there is one."""
    blocks: list[dict[str, Any]] = []
    rest = text
    while rest:
        size, cut = 0, len(rest)
        for index, char in enumerate(rest):
            size += len(escape_mrkdwn(char))
            if size > SECTION_LIMIT:
                space = rest.rfind(" ", 0, index)
                cut = space + 1 if space > 0 else index
                break
        chunk, rest = rest[:cut], rest[cut:]
        if chunk.strip():
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape_mrkdwn(chunk)}})
    return blocks


class SlackAdapter(Adapter):
    """Posts through a Slack incoming webhook; see the module docstring for what webhooks cannot do."""

    max_length = 40_000
    refuses_empty = True
    secrets = ("webhook_url",)
    settings_keys = frozenset[str]()
    text_entities = "links-only"  # "#word" and "@user" are plain text
    network = "slack"
    media_limits = MediaLimits(by_url=True, max_bytes=50_000_000, alt_max=2000)
    """Slack shows an image only from a public URL (an ``image`` block, alt text at most 2000): a local
    file is not sent there."""
    supports_threads = False

    def _webhook_url(self) -> str:
        url = self.settings.secret_value("webhook_url")
        env = secret_env_var(self.channel, "webhook_url")
        if not url:
            raise AuthError(
                f"slack channel '{self.channel}' has no webhook_url; set {env} (or webhook_url_file) to the "
                "incoming webhook URL from your Slack app's Incoming Webhooks page"
            )
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = httpx.URL("invalid:")
        segments = [s for s in parsed.path.split("/") if s]
        if parsed.scheme not in ("https", "http") or len(segments) < 4 or segments[0] != "services":
            raise AuthError(
                f"slack channel '{self.channel}': webhook_url ({redact_url(url)}) is not an incoming "
                f"webhook URL of the form https://hooks.slack.com/services/T…/B…/…; copy it again into {env}"
            )
        return url

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        code = response.text.strip()
        if code in CHANNEL_GONE:
            return AuthError(
                f"slack: {CHANNEL_GONE[code]} ({response.status_code} {code}); create a new incoming webhook "
                f"and set webhook_url of channel '{self.channel}'"
            )
        return None

    def _parts(self, post: Outgoing, journal: Journal) -> PartsJournal:
        advice = "incoming webhooks have no idempotency and no history: check the channel"
        return PartsJournal(journal, post, network=self.network, advice=advice, keep_ids=False)

    def _payload(self, text: str, images: tuple[Media, ...]) -> dict[str, Any]:
        payload: dict[str, Any] = {"text": escape_mrkdwn(text)}
        if images:
            image_blocks = [{"type": "image", "image_url": item.src, "alt_text": item.alt} for item in images]
            payload["blocks"] = sections(text) + image_blocks
        return payload

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        url = self._webhook_url()
        parts = self._parts(post, journal)
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        images = public_images(post.media, network=self.network, channel=self.channel)
        for index in parts.pending():
            async with parts.attempt(index):
                await send(
                    self.http,
                    "POST",
                    url,
                    network=self.network,
                    json=self._payload(post.parts[index], images if index == 0 else ()),
                    errors=self._errors,
                    idempotent=False,
                    guard=self.guard,
                )
            await parts.done()
        return self._receipt(parts)

    @staticmethod
    def _receipt(parts: PartsJournal) -> Receipt:
        return Receipt(remote_ids=(), url=None, extra={"messages": parts.count})

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """The receipt when the journal has every part, UnknownOutcome for a part in flight, else ``None``
        (no part was in flight: ``publish`` resumes after the parts already sent)."""
        parts = self._parts(post, journal)
        return self._receipt(parts) if parts.finished() else None

    async def check(self) -> Identity:
        """Checks the webhook URL's shape only: Slack incoming webhooks cannot be verified without posting."""
        url = self._webhook_url()
        return Identity(
            account=f"Slack incoming webhook {redact_url(url)}",
            detail="not verified: a Slack incoming webhook cannot be checked without posting to it, and "
            "check never posts",
        )
