"""The ``linkedin`` adapter: one post through the Posts API (``POST /rest/posts``), as a person or a Page.

Configuration (``[channels.<name>]``)::

    network = "linkedin"
    author = "urn:li:person:AbC123"      # or "urn:li:organization:2414183" (a Page you administer)
    version = "202511"                   # the API version, sent as LinkedIn-Version (YYYYMM)
    # token from TAGCAST_CHANNELS__<NAME>__TOKEN (or token_file): an OAuth 2.0 access token with
    # w_member_social (person) or w_organization_social (organization); it lasts 60 days

The part is sent as ``commentary`` in LinkedIn's "little text" format
(:func:`scheduler.length.linkedin.little_text`): each hashtag written as LinkedIn links one, every other
reserved character escaped, and the 3000-character rule counts that text, because an unescaped one can make
LinkedIn cut the post short without saying so (docs/networks.md, LinkedIn: little text).
The headers are ``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0``; the new post's URN comes
back in the ``x-restli-id`` header and its link is ``https://www.linkedin.com/feed/update/<urn>/``.

LinkedIn posts have no replies (:attr:`LinkedInAdapter.max_parts` is 1): a post split into several parts is
a problem at preview and check time, and refused before anything is sent. Give a LinkedIn channel
``thread = false`` (the default) so a long post is shortened to fit instead.

Exactly once: LinkedIn answers a post identical to a recent one with ``422`` naming the existing post
(``Content is a duplicate of urn:li:share:…``). The journal records when the post was first sent; a retry
after a lost answer or a crash sends it again, and a duplicate answer is the receipt of the first (marked
``extra["duplicate"]``). How long LinkedIn remembers is undocumented, so after :data:`DUPLICATE_WINDOW` a post
whose answer was lost is ``unknown`` rather than sent again.

Images go through the Images API first (docs/networks.md, LinkedIn: media): ``POST
/rest/images?action=initializeUpload`` with the author as ``owner`` answers an ``uploadUrl`` and the image's
URN, the bytes are ``PUT`` to that URL, and the post names the URN with its alt text: ``content.media {id,
altText}`` for one image, ``content.multiImage.images [{id, altText}, …]`` for two to four (the field names
are the ones clients use; the official ones are unconfirmed). Each URN is saved in the journal
(:class:`~scheduler.adapters.uploads.UploadJournal`) as soon as its upload is done, before the post, so a
retry after a crash posts with the same images instead of uploading them again.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import (
    ErrorHook,
    describe_request,
    error_reason,
    quota_pause,
    read_json,
    refuse_over_length,
    retry_after,
    send,
)
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.tokens import TokenExpiry, TokenFile, describe_expiry
from scheduler.adapters.uploads import UploadJournal
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
from scheduler.length.linkedin import linkedin_length, little_text
from scheduler.media.model import Media, MediaLimits

log = logging.getLogger("tagcast.adapters.linkedin")

DEFAULT_BASE_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_URL = "https://www.linkedin.com"
RESTLI_PROTOCOL = "2.0.0"
JOURNAL_VERSION = 1
DUPLICATE_WINDOW = 60 * 60
"""Seconds during which a resend is trusted to be answered as a duplicate (LinkedIn's window is unknown)."""
AUTHOR = re.compile(r"urn:li:(person|organization):[A-Za-z0-9_-]+")
VERSION = re.compile(r"20\d{2}(0[1-9]|1[0-2])")
DUPLICATE_OF = re.compile(r"duplicate of (urn:li:[A-Za-z]+:[0-9A-Za-z_-]+)")
TOKEN_FIX = "LinkedIn access tokens last 60 days: authorize the app again and set a new token for the channel"


def never_left(exc: BaseException | None) -> bool:
    """Whether ``exc`` failed before the request left: the post surely was not created."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def post_link(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def duplicate_of(response: httpx.Response) -> tuple[bool, str | None]:
    """Whether a 422 says the post is a duplicate, and the URN of the existing post when it names one."""
    try:
        data = response.json()
    except ValueError:
        data = None
    codes: list[str] = []
    if isinstance(data, dict):
        details = data.get("errorDetails")
        errors = details.get("inputErrors") if isinstance(details, dict) else None
        codes = [str(e.get("code")) for e in errors or [] if isinstance(e, dict)]
    text = response.text
    duplicate = "DUPLICATE_POST" in codes or "duplicate" in text.lower()
    found = DUPLICATE_OF.search(text)
    return duplicate, found[1] if found else None


class DuplicatePost(PermanentDeliveryError):
    """LinkedIn's 422: the same text was posted recently; ``urn`` is that post when LinkedIn names it."""

    def __init__(self, reason: str, *, urn: str | None) -> None:
        super().__init__(reason)
        self.urn = urn


class Throttled(TransientDeliveryError):
    """A 429: the post surely was not created."""


class TokenRejected(AuthError):
    """A 401: the access token expired (60 days) or was revoked; a refresh token may renew it once."""


class NoProfile(PermanentDeliveryError):
    """``/v2/userinfo`` answered 403: the token works but lacks the OpenID scopes that name its member."""


class LinkedInAdapter(Adapter):
    """Posts to LinkedIn as ``author``; see the module docstring for settings and duplicates."""

    max_length = 3000
    refuses_empty = True
    secrets = ("token",)
    settings_keys = frozenset(
        {"base_url", "author", "version", "client_id", "client_secret", "oauth2_refresh_token"}
    )
    hashtag_url = "https://www.linkedin.com/feed/hashtag/{tag}"

    @classmethod
    def length_rules(cls, settings: ChannelSettings, *, media: bool = False) -> LengthRules:
        """LinkedIn counts the commentary as sent: in little text, escapes included."""
        return replace(super().length_rules(settings, media=media), counter=linkedin_length)

    network = "linkedin"
    media_limits = MediaLimits(max_bytes=10_000_000, max_pixels=36_152_320, alt_max=4086)
    """Images API upload with ``altText``; the size, pixel and alt limits are LinkedIn's documented ones,
    not confirmed against a server (docs/networks.md)."""
    supports_threads = False
    max_parts = 1

    def __init__(
        self, channel: str, settings: ChannelSettings, *, http: httpx.AsyncClient, root: Path
    ) -> None:
        super().__init__(channel, settings, http=http, root=root)
        self._access = settings.secret_value("token")
        self._refresh = settings.secret_value("oauth2_refresh_token")
        self._expires_at: float | None = None

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or DEFAULT_BASE_URL).strip().rstrip("/")

    @property
    def oauth_url(self) -> str:
        """Where tokens are refreshed: ``www.linkedin.com``, or ``base_url`` when one is set (a proxy, a
        fake)."""
        return (self.settings.base_url or DEFAULT_OAUTH_URL).strip().rstrip("/")

    def _author(self) -> str:
        author = (self.settings.author or "").strip()
        if not AUTHOR.fullmatch(author):
            shown = f"'{author}'" if author else "not set"
            raise AuthError(
                f"channels.{self.channel}.author is {shown}: set it to the URN LinkedIn posts as, "
                'e.g. author = "urn:li:person:AbC123" or author = "urn:li:organization:2414183"'
            )
        return author

    def _headers(self) -> dict[str, str]:
        token = self._access or ("expired" if self._can_refresh() else None)
        if not token:
            raise AuthError(
                f"channels.{self.channel}.token is not set: create an OAuth 2.0 access token with "
                "w_member_social (or w_organization_social for a Page) and set "
                f"{secret_env_var(self.channel, 'token')} (or token_file)"
            )
        version = (self.settings.version or "").strip()
        if not VERSION.fullmatch(version):
            shown = f"'{version}'" if version else "not set"
            raise AuthError(
                f"channels.{self.channel}.version is {shown}: set the LinkedIn API version as YYYYMM, "
                'e.g. version = "202511" (LinkedIn serves each version for about a year)'
            )
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
            "Accept": "application/json",
        }

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        where = describe_request(self.network, response.request)
        status = response.status_code
        if status == 401:
            return TokenRejected(f"{where} rejected the token (401): {error_reason(response)}; {TOKEN_FIX}")
        if status == 429:
            wait = retry_after(response.headers, response.content)
            note = f"; retry in {wait:g} s" if wait is not None else ""
            return Throttled(f"{where} answered 429: {error_reason(response)}{note}", retry_after=wait)
        if status == 422:
            duplicate, urn = duplicate_of(response)
            if duplicate:
                return DuplicatePost(f"{where} refused a duplicate (422): {error_reason(response)}", urn=urn)
        if status == 426:
            return AuthError(
                f"{where}: LinkedIn no longer serves version {self.settings.version} (426: "
                f"{error_reason(response)}); set channels.{self.channel}.version to a recent YYYYMM"
            )
        return None

    # --- publishing ----------------------------------------------------------------------------------------

    def _payload(self, text: str, images: list[tuple[str, Media]] | None = None) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if images and len(images) == 1:
            [(urn, item)] = images
            content = {"content": {"media": {"id": urn, "altText": item.alt}}}
        elif images:
            multi = [{"id": urn, "altText": item.alt} for urn, item in images]
            content = {"content": {"multiImage": {"images": multi}}}
        return {
            **content,
            "author": self._author(),
            "commentary": little_text(text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        if len(post.parts) != 1:
            raise PermanentDeliveryError(
                f"linkedin: delivery {post.delivery_id} has {len(post.parts)} parts, but LinkedIn posts have "
                f"no replies; set thread = false on channels.{self.channel} so the post is shortened to fit"
            )
        state = _state(journal)
        if state["urn"] is not None:
            return self._receipt(state, None)
        since = state["sent_at"]
        if since is not None and time.time() - since > DUPLICATE_WINDOW:
            raise self._unknown(post)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        self._headers()
        uploads = UploadJournal(journal, network=self.network)
        images = [(str(await uploads.once(item, self._upload)), item) for item in post.media]
        payload = self._payload(post.parts[0], images)
        if since is None:
            state["sent_at"] = time.time()
            await journal.save()
        try:
            response = await self._send("POST", "/rest/posts", json=payload, errors=self._errors)
        except DuplicatePost as exc:
            if exc.urn is None:
                raise UnknownOutcome(
                    f"{exc.reason}; LinkedIn does not say which post this duplicates. Check the account, "
                    f"then run `tagcast queue resolve {post.delivery_id} --sent URL` or `--not-sent`"
                ) from exc
            state["urn"] = exc.urn
            state["duplicate"] = True
            await journal.save()
            return self._receipt(state, None)
        except TransientDeliveryError as exc:
            if isinstance(exc, Throttled) or never_left(exc.__cause__):
                state["sent_at"] = None
                await journal.save()
            raise
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise UnknownOutcome(
                f"linkedin: the post was created (201) but LinkedIn named no URN (x-restli-id); find it on "
                f"the account, then run `tagcast queue resolve {post.delivery_id} --sent URL`"
            )
        state["urn"] = urn
        await journal.save()
        return self._receipt(state, response)

    async def _upload(self, media: Media) -> str:
        """Upload one image through the Images API; its URN."""
        response = await self._send(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self._author()}},
            errors=self._errors,
        )
        value = read_json(response, network=self.network).get("value")
        upload_url = value.get("uploadUrl") if isinstance(value, dict) else None
        urn = value.get("image") if isinstance(value, dict) else None
        if not isinstance(upload_url, str) or not isinstance(urn, str) or not urn.startswith("urn:li:image:"):
            raise TransientDeliveryError(
                "linkedin: initializeUpload answered without an uploadUrl and an image URN"
            )
        await send(
            self.http,
            "PUT",
            upload_url,
            network=self.network,
            headers={**self._headers(), "Content-Type": "application/octet-stream"},
            content=media.read_bytes(),
            errors=self._errors,
            guard=self.guard,
        )
        log.debug("linkedin: uploaded %s as %s", media.src, urn)
        return urn

    def _receipt(self, state: dict[str, Any], response: httpx.Response | None) -> Receipt:
        urn = state["urn"]
        extra: dict[str, Any] = {"urls": [post_link(urn)]}
        if state.get("duplicate"):
            extra["duplicate"] = True
        return Receipt(remote_ids=(urn,), url=post_link(urn), extra=extra, pause_for=quota_pause(response))

    def _unknown(self, post: Outgoing) -> UnknownOutcome:
        return UnknownOutcome(
            f"linkedin: delivery {post.delivery_id} was sent more than {DUPLICATE_WINDOW // 60} minutes ago "
            "and its answer was lost; LinkedIn may no longer report a resend as a duplicate. Check the "
            f"account, then run `tagcast queue resolve {post.delivery_id} --sent URL` or `--not-sent`"
        )

    # --- after a crash -------------------------------------------------------------------------------------

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """The receipt when the journal has the URN; a post that was being sent is sent again (LinkedIn
        answers a duplicate with the first post's URN); ``None`` when it never was."""
        state = _state(journal)
        if state["urn"] is not None:
            return self._receipt(state, None)
        if state["sent_at"] is None:
            return None
        return await self.publish(post, journal)

    # --- tokens ----------------------------------------------------------------------------------------

    async def _send(self, method: str, path: str, *, errors: ErrorHook, json: Any = None) -> httpx.Response:
        """One API call; a 401 renews the access token with the refresh token (when the app has one) and
        the call is made once more."""
        refreshed = False
        while True:
            try:
                return await send(
                    self.http,
                    method,
                    f"{self.base_url}{path}",
                    network=self.network,
                    headers=self._headers(),
                    json=json,
                    errors=errors,
                )
            except TokenRejected:
                if refreshed or not self._can_refresh():
                    raise
                await self.refresh_token()
                refreshed = True

    def _can_refresh(self) -> bool:
        """LinkedIn gives refresh tokens to approved apps only; they need the app's id and secret."""
        return bool(self._refresh and self.settings.client_id and self.settings.secret_value("client_secret"))

    async def refresh_token(self) -> None:
        """Exchange the refresh token for a new access token (oauthlib builds and reads the exchange); the new
        token goes to ``token_file`` (and a new refresh token to ``oauth2_refresh_token_file``) when the old
        one came from there, never to the TOML file."""
        client_id = self.settings.client_id or ""
        oauth = WebApplicationClient(client_id)
        body = oauth.prepare_refresh_body(
            refresh_token=self._refresh or "",
            client_id=client_id,
            client_secret=self.settings.secret_value("client_secret") or "",
        )
        try:
            response = await send(
                self.http,
                "POST",
                f"{self.oauth_url}/oauth/v2/accessToken",
                network=self.network,
                content=body.encode("utf-8"),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            tokens = oauth.parse_request_body_response(response.text)
        except (PermanentDeliveryError, OAuth2Error, ValueError) as exc:
            reason = exc.reason if isinstance(exc, DeliveryError) else str(exc)
            raise AuthError(
                f"linkedin: the access token expired and renewing it failed ({reason}); refresh tokens last "
                f"a year: authorize the app again and set new token and oauth2_refresh_token for "
                f"channels.{self.channel}"
            ) from exc
        access = tokens.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("linkedin: the token endpoint answered without an access_token")
        self._keep("token", self._access, access)
        self._access = access
        refresh = tokens.get("refresh_token")
        if isinstance(refresh, str) and refresh and refresh != self._refresh:
            self._keep("oauth2_refresh_token", self._refresh, refresh)
            self._refresh = refresh
        expires_in = tokens.get("expires_in")
        self._expires_at = time.time() + float(expires_in) if isinstance(expires_in, int | float) else None
        log.info("linkedin: renewed the access token of channel %s with its refresh token", self.channel)

    def _keep(self, key: str, old: str | None, new: str) -> None:
        stored = TokenFile.of(self.settings, self.root, key, current=old) if old else None
        if stored is not None:
            stored.store(new)

    # --- checks ----------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        """The member behind the token (``GET /v2/userinfo``, OpenID scope ``profile``) and the author."""
        author = self._author()
        self._headers()

        def no_profile(response: httpx.Response) -> DeliveryError | None:
            if response.status_code == 403:
                return NoProfile(error_reason(response))
            return self._errors(response)

        try:
            response = await self._send("GET", "/v2/userinfo", errors=no_profile)
        except NoProfile:
            return Identity(
                account=author,
                detail="the token is valid, but without the openid and profile scopes LinkedIn does not "
                "say whose it is",
            )
        info = read_json(response, network=self.network)
        name = str(
            info.get("name") or " ".join(str(info.get(k) or "") for k in ("given_name", "family_name"))
        )
        member = f"urn:li:person:{info.get('sub')}"
        if author.startswith("urn:li:person:"):
            if member != author:
                raise AuthError(
                    f"linkedin: the token belongs to {name.strip() or member} ({member}), but "
                    f'channels.{self.channel}.author is {author}; set author = "{member}"'
                )
            detail, state = await self._with_expiry("posts as a member")
            return Identity(account=f"{name.strip()} ({author})".strip(), detail=detail, token=state)
        as_organization = f"posts as the organization, with the token of {name.strip() or member}"
        detail, state = await self._with_expiry(as_organization)
        return Identity(account=author, detail=detail, token=state)

    async def _with_expiry(self, detail: str) -> tuple[str, TokenExpiry | None]:
        if self._expires_at is not None:
            refreshed = TokenExpiry(self._expires_at, refreshable=True)
            return (
                f"{detail}; {describe_expiry(self._expires_at)} (refreshed with the refresh token)",
                refreshed,
            )
        state, expiry = await self._introspect()
        if expiry is not None:
            detail = f"{detail}; {expiry}"
        if self._can_refresh():
            return f"{detail}; the token is renewed with the refresh token when it expires", state
        return detail, state

    async def token_expiry_state(self) -> TokenExpiry | None:
        """After a refresh, from its ``expires_in``; else from the introspection endpoint (with the app's
        ``client_id`` and ``client_secret``)."""
        if self._expires_at is not None:
            return TokenExpiry(self._expires_at, refreshable=True)
        return (await self._introspect())[0]

    async def introspected_expiry(self) -> str | None:
        """When the token expires, from ``POST /oauth/v2/introspectToken`` (it needs the app's ``client_id``
        and ``client_secret``); ``None`` without them, or why it could not be read."""
        return (await self._introspect())[1]

    async def _introspect(self) -> tuple[TokenExpiry | None, str | None]:
        client_id, client_secret = self.settings.client_id, self.settings.secret_value("client_secret")
        if not (client_id and client_secret and self._access):
            return None, None
        try:
            response = await send(
                self.http,
                "POST",
                f"{self.oauth_url}/oauth/v2/introspectToken",
                network=self.network,
                data={"client_id": client_id, "client_secret": client_secret, "token": self._access},
            )
            answer = read_json(response, network=self.network)
        except DeliveryError as exc:
            return None, f"could not read when the token expires: {exc.reason}"
        if answer.get("active") is False:
            return None, "LinkedIn says the token is no longer active"
        expires_at = answer.get("expires_at")
        if not isinstance(expires_at, int) or isinstance(expires_at, bool):
            return None, None
        state = TokenExpiry(float(expires_at) if expires_at else None, refreshable=self._can_refresh())
        return state, describe_expiry(expires_at)


def _state(journal: Journal) -> dict[str, Any]:
    state = journal.state
    version = state.setdefault("version", JOURNAL_VERSION)
    if version != JOURNAL_VERSION:
        raise PermanentDeliveryError(f"linkedin: journal version {version} is not understood by this tagcast")
    state.setdefault("urn", None)
    state.setdefault("sent_at", None)
    return state
