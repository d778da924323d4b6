"""The ``threads`` adapter: Meta's Threads API, a container created then published, threads as reply chains.

Configuration (``[channels.<name>]``)::

    network = "threads"
    user_id = "me"                                # the default
    base_url = "https://graph.threads.net/v1.0"   # the default
    # token from TAGCAST_CHANNELS__<NAME>__TOKEN (or token_file): a long-lived Threads user token with
    # threads_basic and threads_content_publish

Each part is two calls (docs/networks.md, Threads: posting): ``POST /{user_id}/threads`` with
``media_type=TEXT``, ``text`` and, after the first part, ``reply_to_id`` (the previous part's media id),
answering a container id; then ``POST /{user_id}/threads_publish`` with ``creation_id``, answering the media
id. The token travels as the ``access_token`` parameter, in the form body of a POST (never in a URL that could
be logged).

Exactly once: the container id is saved in the journal *before* it is published. Whatever happens next (a
lost answer, a 5xx, a crash), the next attempt asks the container for its ``status``: ``PUBLISHED`` means the
part is out (its media id is looked up among the account's recent posts or replies, since the container does
not say it), ``FINISHED`` means it is ready and is published now, ``IN_PROGRESS`` waits, ``ERROR`` and
``EXPIRED`` (not published within 24 h) mean it never went out and a new container is made. A container is
never published twice and a part never gets a second container while its first may still be published.

Quota: Threads allows 250 posts and 1000 replies per 24 hours. Before a delivery the adapter reads
``GET /{user_id}/threads_publishing_limit``; when the quota is used up it raises TransientDeliveryError with
``retry_after`` = :data:`QUOTA_RECHECK`, which pauses the channel (the API does not say when the rolling
window frees a post, so the quota is read again then). A receipt that used the last post of the quota
carries the same pause.

Token refresh: a long-lived token lasts 60 days and can be refreshed once it is a day old
(``GET /refresh_access_token?grant_type=th_refresh_token``). When the token comes from the channel's
``token_file`` (and not from the environment, which would win over the file), the adapter refreshes it before
a post once the file is :data:`REFRESH_AGE` old, and ``tagcast channels test`` refreshes it to learn its
expiry; the new token is written to that file (atomically, keeping its permissions), never to the TOML file.

Images: Meta fetches each image itself from ``image_url``, so only the article's public ``https://`` images
are sent (a local one is left out with a warning; docs/networks.md, Threads: media). One image makes the first
part's container ``media_type=IMAGE`` with ``image_url``, ``alt_text`` and ``text``. Two to four make a
carousel: one item container per image (``is_carousel_item=true``), each id saved in the journal as it is
made, then a ``media_type=CAROUSEL`` container with ``children`` (the item ids) and ``text`` (the carousel
flow and its field names come from Meta's documentation, unconfirmed: docs/networks.md). An image
container is published only once its ``status`` is ``FINISHED`` (Meta fetches and processes the image
first): until then the delivery waits :data:`CONTAINER_WAIT` seconds with the container journalled, and the
next attempt publishes that same container.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.graph import graph_error, graph_errors, require_token
from scheduler.adapters.http import read_json, refuse_over_length, send
from scheduler.adapters.media_checks import public_images, refuse_unfit_media
from scheduler.adapters.parts import receipt_of_parts
from scheduler.adapters.tokens import TokenExpiry, TokenFile, describe_expiry
from scheduler.config.credentials import secret_env_var
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.lazy import httpx
from scheduler.length import LengthRules
from scheduler.length.threads import threads_length
from scheduler.media.model import Media, MediaLimits

log = logging.getLogger("tagcast.adapters.threads")

DEFAULT_BASE_URL = "https://graph.threads.net/v1.0"
JOURNAL_VERSION = 1
QUOTA_RECHECK = 3600.0
"""Seconds a channel whose 24-hour quota is used up waits before the quota is read again."""
CONTAINER_WAIT = 30.0
"""Seconds to wait for a container still ``IN_PROGRESS`` (Meta suggests about 30 s for media)."""
RECENT_POSTS = 25
REFRESH_AGE = 7 * 86400
"""A token file not rewritten for this long (its modification time) is refreshed before the next post."""
MIN_TOKEN_AGE = 86400
"""Threads refreshes a long-lived token only once it is at least a day old."""
REFRESH_RETRY = 3600.0
"""Seconds before a failed refresh is tried again."""
QUOTA_SUBCODES = frozenset({2207042})
"""Error subcodes read as "publishing quota reached" (Instagram's code; the Threads one is unconfirmed)."""
TOKEN_FIX = (
    "create a new long-lived token with threads_basic and threads_content_publish (they last 60 days) and "
    "set it as the channel's token"
)


@dataclass(frozen=True, slots=True)
class Quota:
    """What ``threads_publishing_limit`` says: posts and replies used in the last 24 h, and the totals."""

    posts_used: int
    posts_total: int
    replies_used: int
    replies_total: int


class ThreadsAdapter(Adapter):
    """Posts to Threads; see the module docstring for settings and how a crash is recovered."""

    max_length = 500
    refuses_empty = True
    max_links = 5
    secrets = ("token",)
    settings_keys = frozenset({"base_url", "user_id"})
    hashtag_url = "https://www.threads.net/search?q=%23{tag}"
    mention_url = "https://www.threads.net/@{user}"

    @classmethod
    def length_rules(cls, settings: ChannelSettings, *, media: bool = False) -> LengthRules:
        """Threads counts each emoji as its UTF-8 bytes."""
        rules = super().length_rules(settings, media=media)
        return replace(rules, counter=threads_length, unit_note=" (emoji by UTF-8 bytes)")

    network = "threads"
    media_limits = MediaLimits(by_url=True, max_bytes=8_000_000, alt_max=1000)
    """Meta fetches ``image_url`` itself, so only public https images are sent (docs/networks.md); 8 MB and
    alt 1000 are unconfirmed."""

    def __init__(
        self, channel: str, settings: ChannelSettings, *, http: httpx.AsyncClient, root: Path
    ) -> None:
        super().__init__(channel, settings, http=http, root=root)
        self._refreshed: str | None = None
        self._expiry: TokenExpiry | None = None
        self._next_refresh = 0.0

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or DEFAULT_BASE_URL).strip().rstrip("/")

    @property
    def user_id(self) -> str:
        return (self.settings.user_id or "me").strip() or "me"

    def _token(self) -> str:
        return require_token(self._refreshed or self.settings.secret_value("token"), self.channel, TOKEN_FIX)

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        error = graph_error(response)
        if error is not None and error.subcode in QUOTA_SUBCODES:
            return TransientDeliveryError(
                f"threads: the 24-hour publishing quota is used up ({error.message}); "
                f"trying again in {QUOTA_RECHECK:g} s",
                retry_after=QUOTA_RECHECK,
            )
        return graph_errors(self.network, fix=TOKEN_FIX)(response)

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        response = await send(
            self.http,
            "GET",
            f"{self.base_url}/{path}",
            network=self.network,
            params={**params, "access_token": self._token()},
            errors=self._errors,
        )
        return read_json(response, network=self.network)

    async def _post(self, path: str, data: dict[str, str]) -> dict[str, Any]:
        response = await send(
            self.http,
            "POST",
            f"{self.base_url}/{path}",
            network=self.network,
            data={**data, "access_token": self._token()},
            errors=self._errors,
        )
        return read_json(response, network=self.network)

    # --- publishing ----------------------------------------------------------------------------------------

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        images = public_images(post.media, network=self.network, channel=self.channel)
        state = _state(journal)
        if len(state["parts"]) >= len(post.parts):
            return self._receipt(state, None)
        await self._refresh_when_due()
        quota = await self.quota()
        replies = len(post.parts) - max(len(state["parts"]), 1)
        self._refuse_when_used_up(quota, first=not state["parts"], replies=replies)
        for index in range(len(state["parts"]), len(post.parts)):
            reply_to = state["parts"][-1]["id"] if state["parts"] else None
            container = await self._settled_container(post, journal, index, reply_to)
            if container is None:
                continue
            if container == "":
                if index == 0 and images:
                    container = await self._image_container(post.parts[index], images, journal)
                else:
                    container = await self._create_container(post.parts[index], reply_to)
                state["container"] = {"index": index, "id": container}
                await journal.save()
                if index == 0 and images:
                    await self._wait_until_finished(container, index)
            published = await self._post(f"{self.user_id}/threads_publish", {"creation_id": container})
            media_id = published.get("id")
            if not isinstance(media_id, str | int):
                raise TransientDeliveryError(
                    f"threads: publishing container {container} answered without a media id; its status is "
                    "checked on the next attempt"
                )
            await self._record(journal, state, str(media_id))
        return self._receipt(state, quota)

    async def _settled_container(
        self, post: Outgoing, journal: Journal, index: int, reply_to: str | None
    ) -> str | None:
        """The container of part ``index`` to publish: the journalled one when it is ready, ``""`` when a new
        one must be made, ``None`` when the journalled one is already published (then it is recorded)."""
        state = journal.state
        saved = state["container"]
        if saved is None or saved["index"] != index:
            return ""
        container = str(saved["id"])
        status = await self.container_status(container)
        if status == "PUBLISHED":
            media_id = await self._find_published(post, index, reply_to, container)
            await self._record(journal, state, media_id)
            return None
        if status == "FINISHED":
            return container
        if status == "IN_PROGRESS":
            raise TransientDeliveryError(
                f"threads: container {container} of part {index + 1} is still being processed",
                retry_after=CONTAINER_WAIT,
            )
        if status in ("ERROR", "EXPIRED"):
            state["container"] = None
            return ""
        raise TransientDeliveryError(f"threads: container {container} has an unknown status {status!r}")

    async def _create_container(
        self, text: str, reply_to: str | None, *, fields: dict[str, str] | None = None
    ) -> str:
        data = fields if fields is not None else {"media_type": "TEXT", "text": text}
        if reply_to is not None:
            data["reply_to_id"] = reply_to
        answer = await self._post(f"{self.user_id}/threads", data)
        container = answer.get("id")
        if not isinstance(container, str | int):
            raise TransientDeliveryError("threads: creating a container answered without its id")
        return str(container)

    async def _image_container(self, text: str, images: tuple[Media, ...], journal: Journal) -> str:
        """The first part's container with its images: IMAGE for one, else CAROUSEL over item containers,
        each item's id journalled as soon as it is made (a retry reuses the items, never makes them twice)."""
        if len(images) == 1:
            image = images[0]
            fields = {"media_type": "IMAGE", "image_url": image.src, "alt_text": image.alt, "text": text}
            return await self._create_container(text, None, fields=fields)
        state = journal.state
        items: list[str] = state["items"] if state["items"] is not None else []
        for image in images[len(items) :]:
            fields = {
                "media_type": "IMAGE",
                "image_url": image.src,
                "alt_text": image.alt,
                "is_carousel_item": "true",
            }
            items.append(await self._create_container("", None, fields=fields))
            state["items"] = items
            await journal.save()
        for item in items:
            status = await self.container_status(item)
            if status in ("ERROR", "EXPIRED"):
                state["items"] = None
                await journal.save()
                raise TransientDeliveryError(
                    f"threads: the image container {item} of the carousel is {status}; the images are "
                    "sent again on the next attempt"
                )
            if status != "FINISHED":
                raise TransientDeliveryError(
                    f"threads: the image container {item} is still being processed ({status})",
                    retry_after=CONTAINER_WAIT,
                )
        fields = {"media_type": "CAROUSEL", "children": ",".join(items), "text": text}
        return await self._create_container(text, None, fields=fields)

    async def _wait_until_finished(self, container: str, index: int) -> None:
        """An image container is published once Meta has fetched its image: until it is ``FINISHED`` the
        delivery waits (the container is journalled; the next attempt publishes it)."""
        status = await self.container_status(container)
        if status == "FINISHED":
            return
        if status in ("ERROR", "EXPIRED"):
            raise PermanentDeliveryError(
                f"threads: the image container {container} of part {index + 1} is {status}: Meta could not "
                "fetch or use the image; check that its URL is public and serves an image"
            )
        raise TransientDeliveryError(
            f"threads: container {container} of part {index + 1} is still being processed ({status})",
            retry_after=CONTAINER_WAIT,
        )

    async def container_status(self, container: str) -> str:
        """The ``status`` of a container: PUBLISHED, FINISHED, IN_PROGRESS, ERROR or EXPIRED."""
        answer = await self._get(container, fields="id,status,error_message")
        return str(answer.get("status") or "").upper()

    async def _record(self, journal: Journal, state: dict[str, Any], media_id: str) -> None:
        state["parts"].append({"id": media_id, "url": None})
        state["container"] = None
        state["items"] = None
        await journal.save()
        state["parts"][-1]["url"] = await self._permalink(media_id)
        await journal.save()

    async def _permalink(self, media_id: str) -> str | None:
        """The public link of a post; ``None`` when Threads does not give it now (the post is out anyway)."""
        try:
            answer = await self._get(media_id, fields="permalink")
        except DeliveryError:
            return None
        link = answer.get("permalink")
        return link if isinstance(link, str) and link else None

    async def _find_published(self, post: Outgoing, index: int, reply_to: str | None, container: str) -> str:
        """The media id of part ``index``, whose container says PUBLISHED: the container does not name its
        post, so it is the account's most recent post (``/threads``) or reply (``/replies``) with this
        text."""
        listing = "threads" if reply_to is None else "replies"
        answer = await self._get(
            f"{self.user_id}/{listing}", fields="id,text,permalink,timestamp,replied_to", limit=RECENT_POSTS
        )
        wanted = " ".join(post.parts[index].split())
        for item in answer.get("data") or []:
            if not isinstance(item, dict) or " ".join(str(item.get("text") or "").split()) != wanted:
                continue
            parent = item.get("replied_to")
            if reply_to is not None and isinstance(parent, dict) and str(parent.get("id")) != reply_to:
                continue
            return str(item["id"])
        raise UnknownOutcome(
            f"threads: part {index + 1}/{len(post.parts)} of delivery {post.delivery_id} is published "
            f"(container {container}), but it is not among the account's {RECENT_POSTS} most recent "
            f"{listing}, so its id is unknown. Find it on the account, then run "
            f"`tagcast queue resolve {post.delivery_id} --sent URL`"
        )

    def _receipt(self, state: dict[str, Any], quota: Quota | None) -> Receipt:
        used_up = quota is not None and quota.posts_used + 1 >= quota.posts_total
        return receipt_of_parts(state["parts"], pause_for=QUOTA_RECHECK if used_up else None)

    # --- quota ---------------------------------------------------------------------------------------------

    async def quota(self) -> Quota:
        """Posts and replies used in the last 24 hours, from ``GET /{user_id}/threads_publishing_limit``."""
        answer = await self._get(
            f"{self.user_id}/threads_publishing_limit",
            fields="quota_usage,config,reply_quota_usage,reply_config",
        )
        data = answer.get("data")
        row = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        return Quota(
            posts_used=_number(row.get("quota_usage"), 0),
            posts_total=_number((row.get("config") or {}).get("quota_total"), 250),
            replies_used=_number(row.get("reply_quota_usage"), 0),
            replies_total=_number((row.get("reply_config") or {}).get("quota_total"), 1000),
        )

    def _refuse_when_used_up(self, quota: Quota, *, first: bool, replies: int) -> None:
        if first and quota.posts_used >= quota.posts_total:
            used = f"{quota.posts_used} of {quota.posts_total} posts"
        elif replies and quota.replies_used >= quota.replies_total:
            used = f"{quota.replies_used} of {quota.replies_total} replies"
        else:
            return
        raise TransientDeliveryError(
            f"threads: the 24-hour publishing quota is used up ({used}); the channel waits and reads the "
            f"quota again in {QUOTA_RECHECK:g} s",
            retry_after=QUOTA_RECHECK,
        )

    # --- after a crash -------------------------------------------------------------------------------------

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """Ask the journalled container (if any) for its status; the receipt when every part is out, else
        ``None``: :meth:`publish` with this journal then publishes the same container, or makes one."""
        state = _state(journal)
        index = len(state["parts"])
        saved = state["container"]
        if saved is not None and saved["index"] == index < len(post.parts):
            reply_to = state["parts"][-1]["id"] if state["parts"] else None
            await self._settled_container(post, journal, index, reply_to)
        if len(state["parts"]) < len(post.parts):
            return None
        return self._receipt(state, None)

    # --- token refresh -----------------------------------------------------------------------------------

    def token_file(self) -> TokenFile | None:
        """The channel's ``token_file`` when the token in use is the one it holds: only then does a refreshed
        token written there take effect (an environment variable or ``.env`` wins over the file)."""
        return TokenFile.of(self.settings, self.root, current=self._token())

    @property
    def refresh_url(self) -> str:
        """``/refresh_access_token`` on the API host, outside the version path."""
        return re.sub(r"/v\d+(\.\d+)?$", "", self.base_url) + "/refresh_access_token"

    async def refresh_token(self) -> int | None:
        """Exchange the token for a fresh 60-day one, store it in :meth:`token_file`, and use it from now on.

        Returns ``expires_in`` (seconds) when Threads says it. Raises AuthError when the token is no longer
        valid, and PermanentDeliveryError when there is no token file to keep the new token in.
        """
        stored = self.token_file()
        if stored is None:
            raise PermanentDeliveryError(
                f"threads: channels.{self.channel} cannot keep a refreshed token: put the token in a file, "
                f"set token_file to it, and leave {secret_env_var(self.channel, 'token')} unset"
            )
        response = await send(
            self.http,
            "GET",
            self.refresh_url,
            network=self.network,
            params={"grant_type": "th_refresh_token", "access_token": self._token()},
            errors=self._errors,
        )
        answer = read_json(response, network=self.network)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token.strip():
            raise TransientDeliveryError("threads: the token refresh answered without an access_token")
        stored.store(token)
        self._refreshed = token.strip()
        expires_in = answer.get("expires_in")
        if isinstance(expires_in, int) and not isinstance(expires_in, bool):
            self._expiry = TokenExpiry(time.time() + expires_in, refreshable=True)
        days = f"; it expires in {int(expires_in) // 86400} days" if isinstance(expires_in, int) else ""
        log.info(
            "threads: refreshed the token of channel %s and stored it in %s%s",
            self.channel,
            stored.shown,
            days,
        )
        return expires_in if isinstance(expires_in, int) else None

    async def _refresh_when_due(self) -> None:
        """Refresh the token when its file is :data:`REFRESH_AGE` old; a failure other than a dead token is
        logged and tried again after :data:`REFRESH_RETRY` (the token still works until it expires)."""
        now = time.time()
        if now < self._next_refresh:
            return
        stored = self.token_file()
        if stored is None or stored.age(now) < REFRESH_AGE:
            return
        try:
            await self.refresh_token()
        except AuthError:
            raise
        except DeliveryError as exc:
            self._next_refresh = now + REFRESH_RETRY
            log.warning("threads: could not refresh the token of channel %s: %s", self.channel, exc.reason)

    async def _token_news(self) -> str:
        """For ``channels test``: the token refreshed and its expiry, or why it is not refreshed."""
        stored = self.token_file()
        if stored is None:
            return (
                "the token is not refreshed by tagcast and lasts 60 days: keep it in a file named by "
                "token_file (not in the environment) so tagcast can renew it"
            )
        if stored.age() < MIN_TOKEN_AGE:
            return (
                f"the token in {stored.shown} was written less than a day ago; Threads refreshes a token "
                "once it is a day old"
            )
        try:
            expires_in = await self.refresh_token()
        except AuthError:
            raise
        except DeliveryError as exc:
            return f"could not refresh the token: {exc.reason}"
        expiry = describe_expiry(time.time() + expires_in if expires_in is not None else None)
        return f"token refreshed and stored in {stored.shown}" + (f": {expiry}" if expiry else "")

    # --- checks ----------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        """Who the token posts as (``GET /me?fields=id,username``) and how much of the quota is left."""
        me = await self._get(self.user_id, fields="id,username")
        username = me.get("username")
        if not isinstance(username, str) or not username:
            raise PermanentDeliveryError(f"threads: /{self.user_id} answered without a username")
        try:
            quota = await self.quota()
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            detail = f"could not read the publishing quota: {exc.reason}"
        else:
            detail = (
                f"{quota.posts_used} of {quota.posts_total} posts and {quota.replies_used} of "
                f"{quota.replies_total} replies used in the last 24 hours"
            )
        detail = f"{detail}; {await self._token_news()}"
        return Identity(
            account=f"@{username}",
            url=f"https://www.threads.net/@{username}",
            detail=detail,
            token=self._expiry,
        )

    async def token_expiry_state(self) -> TokenExpiry | None:
        """As the last refresh said (Threads says a token's expiry only when it refreshes it)."""
        return self._expiry


def _number(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _state(journal: Journal) -> dict[str, Any]:
    state = journal.state
    version = state.setdefault("version", JOURNAL_VERSION)
    if version != JOURNAL_VERSION:
        raise PermanentDeliveryError(f"threads: journal version {version} is not understood by this tagcast")
    state.setdefault("parts", [])
    state.setdefault("container", None)
    state.setdefault("items", None)
    return state
