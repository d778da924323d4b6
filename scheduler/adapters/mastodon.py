"""The ``mastodon`` adapter: statuses through ``POST /api/v1/statuses``, threads as reply chains.

Settings: ``base_url`` (the instance, required), ``token`` (a user token with ``write:statuses``), and
optionally ``visibility``, ``language``, ``spoiler_text`` (a content warning on every part; it counts toward
the limit) and ``limit`` (the instance's ``max_characters`` when it is not 500; see :meth:`fetch_limit`).
An instance that takes less for images than Mastodon's defaults (:attr:`MastodonAdapter.media_limits`) is
described by ``max_images``, ``image_max_bytes``, ``image_max_pixels``, ``alt_max`` and ``image_types``
(:meth:`MastodonAdapter.channel_media_limits`): images are fitted to them in preview and at send time,
and ``tagcast channels test`` reads the instance's ``configuration`` (``/api/v2/instance``, else
``/api/v1/instance`` on older servers and forks: :func:`v1_configuration`) and names each key to set
(:func:`media_advice`).

Exactly once: part ``i`` (from 1) is sent with ``Idempotency-Key: <delivery key>-<i>``; the server answers a
repeat within an hour with the original status. The journal records each posted part and the part in flight
(with the time it was first sent) before moving on, so a retry resumes at the next part. A part in flight for
longer than :data:`IDEMPOTENCY_WINDOW` is looked for among the account's recent statuses before it is sent
again, because the server no longer remembers its key.

Images (``Outgoing.media``) go with the first part: each is uploaded with ``POST /api/v2/media`` (``file`` and
its alt text as ``description``) and its id is saved in the journal (:class:`UploadJournal`) before the status
names it in ``media_ids``, so a retry reuses it. A ``202`` means the server is still processing the file:
``GET /api/v1/media/:id`` is asked again (after :data:`MEDIA_POLL_DELAYS`, through the adapter's ``sleep``)
until it has a ``url``; a status naming unprocessed media would be refused. An id kept from an earlier attempt
is checked the same way before use, and uploaded again if the server no longer has it (unattached media is
deleted after a day), because a status naming an unknown id is posted without that image.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import (
    decode_json,
    error_reason,
    quota_pause,
    read_json,
    refuse_over_length,
    send,
)
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.parts import receipt_of_parts
from scheduler.adapters.uploads import UploadJournal
from scheduler.config.credentials import secret_env_var
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UserError,
)
from scheduler.lazy import httpx
from scheduler.length import LengthRules
from scheduler.length.mastodon import mastodon_length
from scheduler.media.channel_limits import ChannelLimitsError, lowered_limits
from scheduler.media.model import Media, MediaLimits

IDEMPOTENCY_WINDOW = 50 * 60
"""Seconds a key is trusted: the server keeps it an hour; the margin covers clock skew and slow answers."""
JOURNAL_VERSION = 1
RECENT_STATUSES = 40
DEFAULT_LIMIT = 500
MEDIA_POLL_DELAYS = (0.5, 1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0)
"""Seconds before each check of an upload the server is still processing (about 37 s in all); then the
delivery fails as transient and its retry goes on checking the same upload."""
MEDIA_RETRY_AFTER = 30.0

Sleep = Callable[[float], Awaitable[None]]


class _MediaGone(DeliveryError):
    """``GET /api/v1/media/:id`` answered 404: the upload is no longer on the server."""


def _media_gone(response: httpx.Response) -> DeliveryError | None:
    return _MediaGone(error_reason(response)) if response.status_code == 404 else None


def status_text(content: str) -> str:
    """The plain text of a status's HTML ``content`` (paragraphs and line breaks kept)."""
    text = re.sub(r"<br\s*/?>", "\n", content)
    # [^<>], not [^>]: from every "<" of an unclosed "<<<..." the search would run to the end (quadratic).
    text = re.sub(r"</p>\s*<p[^<>]*>", "\n\n", text)
    return html.unescape(re.sub(r"<[^<>]+>", "", text))


def _comparable(text: str) -> str:
    text = re.sub(r"(?<![\w@])@(\w+)@[\w.-]+\w", r"@\1", text)
    return " ".join(text.split())


class MastodonAdapter(Adapter):
    """Posts to a Mastodon (or compatible) instance; see the module docstring for settings."""

    max_length = 500
    length_unit = "graphemes"
    refuses_empty = True
    secrets = ("token",)
    settings_keys = frozenset(
        {"base_url", "visibility", "language", "spoiler_text"}
        | {"max_images", "image_max_bytes", "image_max_pixels", "alt_max", "image_types"}  # lowered_limits
    )
    text_entities = "mastodon"
    hashtag_url = "{server}/tags/{tag}"
    mention_url = "{server}/@{user}"

    @classmethod
    def length_rules(cls, settings: ChannelSettings, *, media: bool = False) -> LengthRules:
        """Mastodon counts URLs as 23, ``@user@domain`` as ``@user``, and the content warning too."""
        warning = settings.spoiler_text or ""
        counter = partial(mastodon_length, spoiler_text=warning)
        return replace(super().length_rules(settings, media=media), counter=counter, spoiler_text=warning)

    network = "mastodon"
    media_limits = MediaLimits(
        max_bytes=16_000_000,
        max_pixels=16_777_216,
        mimes=("image/jpeg", "image/png", "image/webp", "image/gif"),
        alt_max=1500,
    )
    """Alt text: ``description_limit`` 1500; 16 MB and 4096x4096 pixels are the server defaults,
    unconfirmed (docs/networks.md). A channel lowers them to its instance's (:meth:`channel_media_limits`)."""

    @classmethod
    def channel_media_limits(cls, settings: ChannelSettings) -> MediaLimits | None:
        """:attr:`media_limits` lowered by the channel's ``max_images``, ``image_max_bytes``,
        ``image_max_pixels``, ``alt_max`` and ``image_types`` (a value above Mastodon's own is a
        :class:`~scheduler.errors.ConfigError` naming the key)."""
        return lowered_limits(cls.media_limits, settings, network=cls.network)

    def __init__(
        self,
        channel: str,
        settings: ChannelSettings,
        *,
        http: httpx.AsyncClient,
        root: Path,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(channel, settings, http=http, root=root)
        self._account_id: str | None = None
        self._sleep = sleep
        """Waits between checks of an upload being processed (a test passes one that only records)."""

    # --- settings ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        base = (self.settings.base_url or "").strip().rstrip("/")
        if not base:
            raise AuthError(
                f"channels.{self.channel}.base_url is not set: the mastodon adapter needs the instance URL, "
                'e.g. base_url = "https://mastodon.social"'
            )
        return base

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        token = self.settings.secret_value("token")
        if not token:
            raise AuthError(
                f"channels.{self.channel}.token is not set: create an access token with write:statuses in "
                "the instance's Preferences > Development and set " + secret_env_var(self.channel, "token")
            )
        return {"Authorization": f"Bearer {token}", "Accept": "application/json", **(extra or {})}

    async def _get(
        self, path: str, params: dict[str, Any] | None = None, *, errors: Any = None
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        return await send(
            self.http,
            "GET",
            url,
            network=self.network,
            headers=self._headers(),
            params=params,
            errors=errors,
            guard=self.guard,
        )

    # --- publishing ----------------------------------------------------------------------------------------

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        try:
            limits = self.channel_media_limits(self.settings)
        except UserError as exc:
            raise PermanentDeliveryError(f"channels.{self.channel}: {exc.message}") from None
        refuse_unfit_media(limits, post.media, network=self.network)
        state = _state(journal)
        last: httpx.Response | None = None
        for index in range(len(state["parts"]), len(post.parts)):
            reply_to = state["parts"][-1]["id"] if state["parts"] else None
            inflight = state["inflight"]
            if inflight is not None and inflight["index"] == index:
                if time.time() - inflight["since"] > IDEMPOTENCY_WINDOW:
                    found = await self._find_posted(post.parts[index], reply_to, inflight["since"])
                    if found is not None:
                        await _record(journal, state, found)
                        continue
                    inflight["since"] = time.time()
                    await journal.save()
            else:
                state["inflight"] = {"index": index, "since": time.time()}
                await journal.save()
            last, status = await self._post_status(post, index, reply_to, journal)
            await _record(journal, state, status)
        return self._receipt(state, last)

    # --- images --------------------------------------------------------------------------------------------

    async def _media_ids(self, post: Outgoing, journal: Journal) -> list[str]:
        """The ids of the post's images on the server, each uploaded once and processed."""
        uploads = UploadJournal(journal, network=self.network)
        ids: list[str] = []
        for item in post.media:
            entry = uploads.uploaded(item)
            if entry is not None:  # from an earlier attempt: is it still there, and ready?
                try:
                    entry = await self._until_processed(item, entry, uploads, check_first=True)
                except _MediaGone:
                    await uploads.forget(item)
                    entry = None
            if entry is None:
                entry = await uploads.once(item, self._upload)
            if not entry.get("ready"):
                entry = await self._until_processed(item, entry, uploads)
            ids.append(str(entry["id"]))
        return ids

    async def _upload(self, item: Media) -> dict[str, Any]:
        response = await send(
            self.http,
            "POST",
            f"{self.base_url}/api/v2/media",
            network=self.network,
            headers=self._headers(),
            data={"description": item.alt},
            files={"file": (item.path.name, item.read_bytes(), item.mime)},
            guard=self.guard,
        )
        media = read_json(response, network=self.network)
        if not isinstance(media.get("id"), str | int):
            raise TransientDeliveryError(f"mastodon: the answer to the upload of {item.src} has no media id")
        return {"id": str(media["id"]), "ready": response.status_code == 200 and bool(media.get("url"))}

    async def _until_processed(
        self, item: Media, entry: dict[str, Any], uploads: UploadJournal, *, check_first: bool = False
    ) -> dict[str, Any]:
        """Ask ``GET /api/v1/media/:id`` until the upload has a ``url`` (``200``; ``206`` is processing)."""
        delays = (0.0, *MEDIA_POLL_DELAYS) if check_first else MEDIA_POLL_DELAYS
        for delay in delays:
            if delay:
                await self._sleep(delay)
            response = await self._get(f"/api/v1/media/{entry['id']}", errors=_media_gone)
            media = read_json(response, network=self.network)
            if response.status_code == 200 and media.get("url"):
                ready = {"id": str(entry["id"]), "ready": True}
                if entry != ready:
                    await uploads.remember(item, ready)
                return ready
        raise TransientDeliveryError(
            f"mastodon: the server is still processing image {item.src} (media {entry['id']}) after "
            f"{len(MEDIA_POLL_DELAYS)} checks; the delivery is tried again later with the same upload",
            retry_after=MEDIA_RETRY_AFTER,
        )

    async def _post_status(
        self, post: Outgoing, index: int, reply_to: str | None, journal: Journal
    ) -> tuple[httpx.Response, dict[str, Any]]:
        payload: dict[str, Any] = {"status": post.parts[index]}
        if index == 0 and post.media:
            payload["media_ids"] = await self._media_ids(post, journal)
        for key in ("visibility", "language", "spoiler_text"):
            value = getattr(self.settings, key)
            if value:
                payload[key] = value
        if reply_to is not None:
            payload["in_reply_to_id"] = reply_to
        headers = self._headers({"Idempotency-Key": f"{post.idempotency_key}-{index + 1}"})
        response = await send(
            self.http,
            "POST",
            f"{self.base_url}/api/v1/statuses",
            network=self.network,
            headers=headers,
            json=payload,
            guard=self.guard,
        )
        status = read_json(response, network=self.network)
        if not isinstance(status.get("id"), str | int):
            raise TransientDeliveryError(f"mastodon: the answer to part {index + 1} has no status id")
        return response, status

    def _receipt(self, state: dict[str, Any], last: httpx.Response | None) -> Receipt:
        return receipt_of_parts(state["parts"], pause_for=quota_pause(last))

    # --- after a crash -------------------------------------------------------------------------------------

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """Settle the part that was in flight, then: the receipt if every part is out, else ``None``.

        Within :data:`IDEMPOTENCY_WINDOW` the part is sent again with its key (the server answers with the
        original, or posts it now); after that it is looked for among the account's recent statuses.
        ``None`` means the remaining parts are surely not out: :meth:`publish` with this journal sends them.
        """
        state = _state(journal)
        inflight = state["inflight"]
        index = len(state["parts"])
        if inflight is not None and inflight["index"] == index < len(post.parts):
            reply_to = state["parts"][-1]["id"] if state["parts"] else None
            if time.time() - inflight["since"] <= IDEMPOTENCY_WINDOW:
                _, status = await self._post_status(post, index, reply_to, journal)
            else:
                found = await self._find_posted(post.parts[index], reply_to, inflight["since"])
                if found is None:
                    return None
                status = found
            await _record(journal, state, status)
        if len(state["parts"]) < len(post.parts):
            return None
        return self._receipt(state, None)

    async def _find_posted(self, text: str, reply_to: str | None, since: float) -> dict[str, Any] | None:
        """A recent status of this account with this text (and parent), created after ``since`` - 5 min."""
        account_id = await self._own_account_id()
        response = await self._get(
            f"/api/v1/accounts/{account_id}/statuses",
            params={"limit": RECENT_STATUSES, "exclude_reblogs": "true"},
        )
        try:
            statuses = decode_json(response.content)
        except ValueError:
            statuses = None
        if not isinstance(statuses, list):
            raise TransientDeliveryError("mastodon: the account's statuses are not a JSON list")
        wanted = _comparable(text)
        for status in statuses:
            if not isinstance(status, dict) or str(status.get("in_reply_to_id") or "") != (reply_to or ""):
                continue
            if _created(status) < since - 300:
                continue
            if _comparable(status_text(str(status.get("content") or ""))) == wanted:
                return status
        return None

    async def _own_account_id(self) -> str:
        if self._account_id is None:
            account = read_json(await self._get("/api/v1/accounts/verify_credentials"), network=self.network)
            self._account_id = str(account["id"])
        return self._account_id

    # --- checks ----------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        account = read_json(await self._get("/api/v1/accounts/verify_credentials"), network=self.network)
        self._account_id = str(account.get("id"))
        acct = str(account.get("acct") or account.get("username") or "?")
        if "@" not in acct:
            acct = f"{acct}@{httpx.URL(self.base_url).host}"
        detail = None
        advice: list[str] = []
        try:
            configuration = await self._configuration()
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            detail = f"could not read the instance's length limit: {exc.reason}"
        else:
            limit = _limit(configuration)
            configured = self.settings.limit
            detail = f"the instance allows {limit} characters per status"
            if configured is not None and configured != limit:
                detail += f", but the channel's limit is {configured}"
            try:
                limits = self.channel_media_limits(self.settings)
            except ChannelLimitsError as exc:  # said, and compared with Mastodon's own limits instead
                advice = [f"channels.{self.channel}.{key}: {why}" for key, why in exc.wrong]
                limits = self.media_limits
            if limits is not None:
                advice += media_advice(configuration, limits, channel=self.channel)
        return Identity(account=f"@{acct}", url=account.get("url"), detail=detail, advice=tuple(advice))

    async def fetch_limit(self) -> int:
        """The instance's status length limit: ``configuration.statuses.max_characters`` of
        ``/api/v2/instance``, else of ``/api/v1/instance`` (Mastodon 3.4.2 to 3.5), else that document's
        ``max_toot_chars`` (forks), else 500.

        Length rules never call the network; put a limit other than 500 in the channel's ``limit`` setting
        (``tagcast channels test`` shows it).
        """
        return _limit(await self._configuration())

    async def _configuration(self) -> dict[str, Any]:
        """The instance's ``configuration`` (the shape of ``GET /api/v2/instance``'s). Where the server has
        no v2 document, or one without a length limit (older servers and forks), or is Pleroma or Akkoma
        (whose v2 document has no alt-text limit), it is completed from ONE ``GET /api/v1/instance``
        (:func:`v1_configuration`), for the length and the image limits alike."""
        try:
            v2 = read_json(await self._get("/api/v2/instance"), network=self.network)
        except AuthError:
            raise
        except PermanentDeliveryError:  # 404: no v2 document
            v2 = None
        configuration = _section(v2, "configuration")
        no_length = _count(_section(configuration, "statuses").get("max_characters")) is None
        if no_length or _pleroma_without_alt_limit(v2, configuration):
            v1 = read_json(await self._get("/api/v1/instance"), network=self.network)
            older = v1_configuration(v1)
            configuration = {
                **older,
                **configuration,
                **{name: {**older[name], **_section(configuration, name)} for name in older},
            }
        return configuration


def media_advice(configuration: Any, limits: MediaLimits, *, channel: str) -> list[str]:
    """What to set on ``channel`` where the instance's ``configuration`` (``GET /api/v2/instance``'s, or
    :func:`v1_configuration`) takes less for images than the channel's ``limits``: one line per stricter
    limit, naming the key and its value. A field the instance does not publish (older servers, forks) is
    not mentioned, nor are the types of an instance that lists ``application/octet-stream`` (any file:
    Pleroma)."""
    where = f"in [channels.{channel}]"
    statuses = _section(configuration, "statuses")
    media = _section(configuration, "media_attachments")
    lines: list[str] = []
    count = _count(statuses.get("max_media_attachments"))
    if count is not None and count < limits.max_images:
        lines.append(
            f"the instance takes at most {count} images per status; set max_images = {count} {where}"
        )
    size = _count(media.get("image_size_limit"))
    if size is not None and size < limits.max_bytes:
        lines.append(f"the instance takes images up to {size:,} bytes; set image_max_bytes = {size} {where}")
    pixels = _count(media.get("image_matrix_limit"))
    if pixels is not None and (limits.max_pixels is None or pixels < limits.max_pixels):
        lines.append(
            f"the instance takes images up to {pixels:,} pixels (width x height); "
            f"set image_max_pixels = {pixels} {where}"
        )
    alt = _count(media.get("description_limit"))
    if alt is not None and limits.alt_max is not None and alt < limits.alt_max:
        lines.append(f"the instance takes alt text up to {alt} characters; set alt_max = {alt} {where}")
    types = media.get("supported_mime_types")
    if isinstance(types, list) and all(isinstance(mime, str) for mime in types) and ANY_FILE not in types:
        refused = [mime for mime in limits.mimes if mime not in types]
        taken = [mime for mime in limits.mimes if mime in types]
        if refused and taken:
            lines.append(
                f"the instance refuses {', '.join(refused)}, which tagcast may send; "
                f"set image_types = {json.dumps(taken)} {where}"
            )
        elif refused:
            lines.append(
                f"the instance takes none of the image types tagcast sends ({', '.join(refused)}): "
                "posts with images will be refused"
            )
    return lines


V1_TOP_LEVEL = (
    ("statuses", "max_characters", "max_toot_chars"),
    ("statuses", "max_media_attachments", "max_media_attachments"),
    ("media_attachments", "image_size_limit", "upload_limit"),
    ("media_attachments", "description_limit", "description_limit"),
)
"""``(section, field of configuration, top-level field)``: the limits Pleroma and Akkoma publish at the top
of ``/api/v1/instance`` (``upload_limit``, in bytes, bounds every upload; ``max_toot_chars`` is glitch-soc's
too), read where ``configuration`` does not have them (Pleroma's ``InstanceView``)."""
ANY_FILE = "application/octet-stream"
"""What Pleroma lists as its ``supported_mime_types``: it takes any file."""


def v1_configuration(document: Any) -> dict[str, dict[str, Any]]:
    """The ``statuses`` and ``media_attachments`` of a ``GET /api/v1/instance`` document in the shape of
    v2's ``configuration``: Mastodon 3.4.2 and later publish ``configuration`` there too (never
    ``description_limit``: V1::Instance has none), forks their own top-level fields (:data:`V1_TOP_LEVEL`).

    >>> v1_configuration({"max_toot_chars": 5000, "upload_limit": 16000000})
    {'statuses': {'max_characters': 5000}, 'media_attachments': {'image_size_limit': 16000000}}
    """
    sections = {
        name: dict(_section(document, "configuration", name)) for name in ("statuses", "media_attachments")
    }
    for name, field, top in V1_TOP_LEVEL:
        if field not in sections[name] and isinstance(document, dict) and top in document:
            sections[name][field] = document[top]
    return sections


def _pleroma_without_alt_limit(v2: Any, configuration: dict[str, Any]) -> bool:
    """Whether a v2 document is Pleroma's or Akkoma's (a top-level ``pleroma`` section), without the
    ``description_limit`` that they publish only at the top of v1 (their v2 ``configuration`` leaves it out).
    Mastodon before 4.4 has none in v2 either, but none in v1: it is not asked twice."""
    is_pleroma = isinstance(v2, dict) and isinstance(v2.get("pleroma"), dict)
    alt = _section(configuration, "media_attachments").get("description_limit")
    return is_pleroma and _count(alt) is None


def _limit(configuration: dict[str, Any]) -> int:
    return _count(_section(configuration, "statuses").get("max_characters")) or DEFAULT_LIMIT


def _section(document: Any, *path: str) -> dict[str, Any]:
    """The object at ``path`` in a decoded instance document, or ``{}`` where it is missing or not one."""
    for name in path:
        document = document.get(name) if isinstance(document, dict) else None
    return document if isinstance(document, dict) else {}


def _count(value: Any) -> int | None:
    """A positive whole number the instance publishes, else None (absent, or not a count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _state(journal: Journal) -> dict[str, Any]:
    state = journal.state
    version = state.setdefault("version", JOURNAL_VERSION)
    if version != JOURNAL_VERSION:
        raise PermanentDeliveryError(f"mastodon: journal version {version} is not understood by this tagcast")
    state.setdefault("parts", [])
    state.setdefault("inflight", None)
    return state


async def _record(journal: Journal, state: dict[str, Any], status: dict[str, Any]) -> None:
    state["parts"].append({"id": str(status["id"]), "url": status.get("url") or status.get("uri")})
    state["inflight"] = None
    await journal.save()


def _created(status: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(status.get("created_at"))).timestamp()
    except (ValueError, OverflowError):  # not a time, or one out of range (year 1 with an offset)
        return 0.0
