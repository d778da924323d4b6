"""The ``x`` adapter: posts through X API v2 ``POST /2/tweets``, threads as reply chains.

Credentials (secrets) are either OAuth 1.0a user context, ``api_key``, ``api_secret``, ``access_token`` and
``access_token_secret`` (each request is signed by oauthlib, see :mod:`scheduler.adapters.oauth1`), or an
OAuth 2.0 user token ``oauth2_token`` with scopes ``tweet.read tweet.write users.read`` (+
``offline.access``). With ``oauth2_refresh_token`` and ``client_id`` (and ``client_secret`` for a
confidential client) an expired token is refreshed on a 401, the request and its answer through oauthlib.
X rotates refresh tokens, so the new pair is also written to ``oauth2_token_file`` and
``oauth2_refresh_token_file`` when the tokens in use came from those files (:class:`TokenFile`; never the
TOML). Otherwise it is kept in memory only, and after a restart the configured refresh token may already be
used up: the adapter then raises AuthError asking for new ones.

Settings: ``base_url`` (default ``https://api.x.com``), ``username`` (for receipt links; else learned from
:meth:`XAdapter.check`), ``limit`` (280 weighted characters unless the account has a longer one).

X has no idempotency key, so nothing is ever resent when the outcome is unknown: a lost answer to a post, or
X's duplicate-content 403, raises UnknownOutcome. The journal records each posted part and the part in
flight before it is sent; :meth:`XAdapter.reconcile` reports parts already recorded as done and an in-flight
part as unknown.

Images (``Outgoing.media``) go with the first part: each is uploaded with ``POST /2/media/upload`` (multipart
``media`` and ``media_category=tweet_image``), its alt text set with ``POST /2/media/metadata``, and the tweet
names the ids in ``media.media_ids``. Each answered id (and that its alt text is set) is saved in the journal
(:class:`UploadJournal`) before the tweet, so a retry reuses it; an id past X's ``expires_after_secs`` is
uploaded again.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import (
    describe_request,
    error_reason,
    quota_pause,
    read_json,
    refuse_over_length,
    send,
)
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.oauth1 import Credentials, authorization_header
from scheduler.adapters.tokens import TokenFile
from scheduler.adapters.uploads import UploadJournal
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.lazy import httpx
from scheduler.media.model import Media, MediaLimits

DEFAULT_BASE_URL = "https://api.x.com"
JOURNAL_VERSION = 1
OAUTH1_KEYS = ("api_key", "api_secret", "access_token", "access_token_secret")
MEDIA_EXPIRY_MARGIN = 600.0
"""Seconds before X's ``expires_after_secs`` at which a journalled upload is no longer trusted."""
DEFAULT_MEDIA_LIFETIME = 86_400.0


class TokenRejected(AuthError):
    """A 401: the token is wrong or expired (an OAuth 2.0 token may be refreshed once)."""


def x_errors(response: httpx.Response, redact: Callable[[str], str] | None = None) -> DeliveryError | None:
    """X's ``403 … duplicate content`` means an identical post is out, probably this one: never resend it."""
    where = describe_request("x", response.request)
    if response.status_code == 403 and "duplicate" in response.text.lower():
        return UnknownOutcome(
            f"{where}: {error_reason(response, redact=redact, explain=XAdapter.error_text)} "
            "The post is probably out already (X does not say which post it duplicates)."
        )
    if response.status_code == 401:
        reason = error_reason(response, redact=redact, explain=XAdapter.error_text)
        return TokenRejected(f"{where} rejected the credentials (401): {reason}")
    return None


def _stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


class XAdapter(Adapter):
    """Posts to X; see the module docstring for credentials and settings."""

    max_length = 280
    length_unit = "weighted"
    refuses_empty = True
    refused_characters = "\ufffe\ufeff\uffff"
    secrets = OAUTH1_KEYS
    """The OAuth 1.0a four; ``oauth2_token`` (and ``refresh_token``) instead, with ``auth = "oauth2"``."""
    settings_keys = frozenset(
        {"base_url", "username", "client_id", "client_secret", "oauth2_token", "oauth2_refresh_token"}
    )
    hashtag_url = "https://x.com/hashtag/{tag}"
    mention_url = "https://x.com/{user}"
    quota_headers = (
        ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
        ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
    )
    """X's 24-hour quotas of posts per user and per app, beside its 15-minute ``x-rate-limit-*``."""

    @classmethod
    def error_text(cls, body: Any) -> str | None:
        """X's problem+json: ``{"title", "detail"}``."""
        if not isinstance(body, dict):
            return None
        title, detail = _stripped(body.get("title")), _stripped(body.get("detail"))
        if title and detail and detail != title:
            return f"{title}: {detail}"
        return detail or title or None

    network = "x"
    media_limits = MediaLimits(
        max_bytes=5_000_000, mimes=("image/jpeg", "image/png", "image/webp"), alt_max=1000
    )
    """Alt text at most 1000 characters (docs/networks.md); 5 MB per image is the v1.1 figure, unconfirmed for
    v2."""

    def __init__(
        self, channel: str, settings: ChannelSettings, *, http: httpx.AsyncClient, root: Path
    ) -> None:
        super().__init__(channel, settings, http=http, root=root)
        self._oauth2_token = self.settings.secret_value("oauth2_token")
        self._refresh_token = self.settings.secret_value("oauth2_refresh_token")
        self._username = (self.settings.username or "").lstrip("@") or None

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or DEFAULT_BASE_URL).strip().rstrip("/")

    # --- auth ------------------------------------------------------------------------------------------

    def _oauth1(self) -> Credentials | None:
        values = [self.settings.secret_value(key) for key in OAUTH1_KEYS]
        if all(values):
            return Credentials(*(v or "" for v in values))
        if any(values):
            missing = ", ".join(k for k, v in zip(OAUTH1_KEYS, values, strict=True) if not v)
            raise AuthError(f"channels.{self.channel}: OAuth 1.0a needs all four keys; missing: {missing}")
        return None

    def _authorization(self, method: str, url: str) -> str:
        credentials = self._oauth1()
        if credentials is not None:
            return authorization_header(method, url, credentials=credentials)
        if self._oauth2_token:
            return f"Bearer {self._oauth2_token}"
        if self._refresh_token:
            return "Bearer expired"
        raise AuthError(
            f"channels.{self.channel} has no X credentials: set api_key, api_secret, access_token and "
            "access_token_secret (OAuth 1.0a), or oauth2_token (OAuth 2.0 user token, + oauth2_refresh_token "
            "and client_id to refresh it)"
        )

    def _can_refresh(self) -> bool:
        return self._oauth1() is None and bool(self._refresh_token and self.settings.client_id)

    async def _refresh(self) -> None:
        oauth = WebApplicationClient(self.settings.client_id or "")
        body = oauth.prepare_refresh_body(
            refresh_token=self._refresh_token or "", client_id=self.settings.client_id or ""
        )
        client_secret = self.settings.secret_value("client_secret")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if client_secret:
            pair = f"{quote_plus(self.settings.client_id or '')}:{quote_plus(client_secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        try:
            response = await send(
                self.http,
                "POST",
                f"{self.base_url}/2/oauth2/token",
                network=self.network,
                content=body.encode("utf-8"),
                headers=headers,
                guard=self.guard,
            )
        except PermanentDeliveryError as exc:
            raise AuthError(
                f"x: the OAuth 2.0 token expired and refreshing it failed ({exc.reason}); X refresh tokens "
                "work once, so authorize again and set new oauth2_token and oauth2_refresh_token for "
                f"channels.{self.channel}"
            ) from exc
        try:
            tokens = oauth.parse_request_body_response(response.text)
        except (OAuth2Error, ValueError) as exc:
            raise AuthError(f"x: the token endpoint's answer is not a usable token ({exc})") from exc
        access = tokens.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("x: the token endpoint answered without an access_token")
        self._keep("oauth2_token", self._oauth2_token, access)
        self._oauth2_token = access
        refresh = tokens.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            self._keep("oauth2_refresh_token", self._refresh_token, refresh)
            self._refresh_token = refresh

    def _keep(self, key: str, old: str | None, new: str) -> None:
        """Write a refreshed secret to the channel's ``<key>_file`` when ``old`` came from it."""
        stored = TokenFile.of(self.settings, self.root, key, current=old) if old else None
        if stored is not None:
            stored.store(new)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotent: bool = True,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        url = f"{self.base_url}{path}"
        refreshed = False
        while True:
            headers = {"Authorization": self._authorization(method, url), "Accept": "application/json"}
            try:
                return await send(
                    self.http,
                    method,
                    url,
                    network=self.network,
                    headers=headers,
                    json=json,
                    data=data,
                    files=files,
                    idempotent=idempotent,
                    errors=partial(x_errors, redact=self.guard.redact),
                    guard=self.guard,
                )
            except TokenRejected:
                if refreshed or not self._can_refresh():
                    raise
                await self._refresh()
                refreshed = True

    # --- publishing ----------------------------------------------------------------------------------------

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        state = _state(journal)
        if state["inflight"] is not None:
            raise self._unknown(post, state)
        last: httpx.Response | None = None
        for index in range(len(state["parts"]), len(post.parts)):
            payload: dict[str, Any] = {"text": post.parts[index]}
            if index == 0 and post.media:
                payload["media"] = {"media_ids": await self._media_ids(post, journal)}
            if state["parts"]:
                payload["reply"] = {"in_reply_to_tweet_id": state["parts"][-1]}
            state["inflight"] = index
            await journal.save()
            try:
                last = await self._call("POST", "/2/tweets", json=payload, idempotent=False)
            except (TransientDeliveryError, PermanentDeliveryError):
                state["inflight"] = None
                await journal.save()
                raise
            data = read_json(last, network=self.network, idempotent=False).get("data")
            tweet_id = data.get("id") if isinstance(data, dict) else None
            if not isinstance(tweet_id, str | int):
                raise UnknownOutcome(f"x: the answer to part {index + 1} has no post id; check the account")
            state["parts"].append(str(tweet_id))
            state["inflight"] = None
            await journal.save()
        return self._receipt(state["parts"], last)

    # --- images --------------------------------------------------------------------------------------------

    async def _media_ids(self, post: Outgoing, journal: Journal) -> list[str]:
        """The ids of the post's images, each uploaded once (journalled) with its alt text set."""
        uploads = UploadJournal(journal, network=self.network)
        ids: list[str] = []
        for item in post.media:
            entry = uploads.uploaded(item)
            if entry is not None and float(entry.get("expires_at", 0)) <= time.time() + MEDIA_EXPIRY_MARGIN:
                await uploads.forget(item)
            entry = await uploads.once(item, self._upload)
            if item.alt and not entry.get("described"):
                await self._describe(str(entry["id"]), item.alt)
                entry = {**entry, "described": True}
                await uploads.remember(item, entry)
            ids.append(str(entry["id"]))
        return ids

    async def _upload(self, item: Media) -> dict[str, Any]:
        response = await self._call(
            "POST",
            "/2/media/upload",
            data={"media_category": "tweet_image"},
            files={"media": (item.path.name, item.read_bytes(), item.mime)},
        )
        data = read_json(response, network=self.network).get("data")
        media_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(media_id, str | int):
            raise TransientDeliveryError(f"x: the answer to the upload of {item.src} has no media id")
        assert isinstance(data, dict)
        lifetime = data.get("expires_after_secs")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool):
            lifetime = DEFAULT_MEDIA_LIFETIME
        return {"id": str(media_id), "expires_at": time.time() + float(lifetime), "described": False}

    async def _describe(self, media_id: str, alt: str) -> None:
        await self._call(
            "POST", "/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": alt}}}
        )

    def _link(self, tweet_id: str) -> str:
        if self._username:
            return f"https://x.com/{self._username}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"

    def _receipt(self, ids: list[str], last: httpx.Response | None) -> Receipt:
        extra: dict[str, Any] = {"urls": [self._link(i) for i in ids]}
        link = self._link(ids[0]) if ids else None
        return Receipt(
            remote_ids=tuple(ids), url=link, extra=extra, pause_for=quota_pause(last, self.quota_headers)
        )

    def _unknown(self, post: Outgoing, state: dict[str, Any]) -> UnknownOutcome:
        index = state["inflight"]
        done = state["parts"]
        posted = f"; parts already out: {', '.join(self._link(i) for i in done)}" if done else ""
        return UnknownOutcome(
            f"x: part {index + 1}/{len(post.parts)} of delivery {post.delivery_id} was being sent when the "
            f"answer was lost, and X cannot tell whether it was posted{posted}. Check the account, then run "
            f"`tagcast queue resolve {post.delivery_id} --sent URL` or `--not-sent`"
        )

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """Parts recorded in the journal are out; a part in flight cannot be known (UnknownOutcome, never
        resent). Nothing in flight: the receipt when every part is out, else ``None`` (publish resumes)."""
        state = _state(journal)
        if state["inflight"] is not None:
            raise self._unknown(post, state)
        if len(state["parts"]) < len(post.parts):
            return None
        return self._receipt(state["parts"], None)

    # --- checks ----------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        data = read_json(await self._call("GET", "/2/users/me"), network=self.network).get("data")
        if not isinstance(data, dict) or not data.get("username"):
            raise PermanentDeliveryError("x: /2/users/me answered without a username")
        self._username = str(data["username"])
        mode = "OAuth 1.0a" if self._oauth1() is not None else "OAuth 2.0"
        return Identity(account=f"@{self._username}", url=f"https://x.com/{self._username}", detail=mode)


def _state(journal: Journal) -> dict[str, Any]:
    state = journal.state
    version = state.setdefault("version", JOURNAL_VERSION)
    if version != JOURNAL_VERSION:
        raise PermanentDeliveryError(f"x: journal version {version} is not understood by this tagcast")
    state.setdefault("parts", [])
    state.setdefault("inflight", None)
    return state
