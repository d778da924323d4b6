"""The ``facebook`` adapter: a Page post (``POST /{page_id}/feed``) with the message and the article's link.

Configuration (``[channels.<name>]``)::

    network = "facebook"
    page_id = "104857392011234"
    base_url = "https://graph.facebook.com/v21.0"   # the default
    # token from TAGCAST_CHANNELS__<NAME>__TOKEN (or token_file): a Page access token with
    # pages_manage_posts and pages_read_engagement (from GET /{user-id}/accounts)

The post is ``message`` (the part as previewed) and, when the article has a ``url``, ``link`` (Facebook shows
it as a card). The token is the ``access_token`` parameter, sent in the form body. Length: 63,206 characters
(:data:`FACEBOOK_LIMIT`; unconfirmed, docs/networks.md, Facebook Pages: length), counted in code points.

Page posts have no reply chain (:attr:`FacebookAdapter.max_parts` is 1): a post split into several parts is
a problem at preview and check time, and refused before anything is sent; at this limit a thread is never
needed.

Exactly once: Facebook has no idempotency key, and a ``500`` can still have created the post
(docs/networks.md, Facebook Pages: errors). So the part is saved as in flight before the POST
(:class:`PartsJournal`), and a lost answer, a ``500``, or a duplicate-message refusal (codes 506 and 368)
makes the delivery :class:`~scheduler.errors.UnknownOutcome`: it waits for ``tagcast queue resolve``, never
resent. ``502``, ``503`` and ``504`` come from in front of the API and are retried.

Images (docs/networks.md, Facebook Pages: media): one image makes the post a photo, ``POST
/{page_id}/photos`` (multipart) with the file as ``source``, the part as ``message`` and the alt text as
``alt_text_custom``. Several are first uploaded unpublished (``published=false``: not a post, invisible), each
photo id saved in the journal (:class:`~scheduler.adapters.uploads.UploadJournal`) as it is answered, then the
post is ``POST /{page_id}/feed`` with ``message`` and ``attached_media[n] = {"media_fbid": id}``; a retry
reuses the journalled photos. A post with images carries no ``link`` field (Facebook shows the photos, not a
link card; the link stays in the text). The post itself (the published photo, or the feed post) is in flight
in the parts journal like a text post, so an interrupted one is ``unknown``.
"""

from __future__ import annotations

import json
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.graph import graph_error, graph_errors, require_token
from scheduler.adapters.http import (
    describe_request,
    error_reason,
    quota_pause,
    read_json,
    refuse_over_length,
    send,
)
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.parts import PartsJournal, receipt_of_parts
from scheduler.adapters.tokens import TokenExpiry, describe_expiry
from scheduler.adapters.uploads import UploadJournal, upload_file
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.lazy import httpx
from scheduler.media.model import Media, MediaLimits

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
FACEBOOK_LIMIT = 63_206
DUPLICATE_CODES = frozenset({368, 506})
TOKEN_FIX = (
    "get a Page access token with pages_manage_posts (GET /{user-id}/accounts) and set it as the channel's "
    "token"
)
ADVICE = "Facebook has no idempotency key, and an error can hide a post that was made: check the Page's posts"


class FacebookAdapter(Adapter):
    """Posts to a Facebook Page; see the module docstring for settings and why nothing is ever resent."""

    max_length = FACEBOOK_LIMIT
    refuses_empty = True
    secrets = ("token",)
    settings_keys = frozenset({"base_url", "page_id"})
    hashtag_url = "https://www.facebook.com/hashtag/{tag}"

    network = "facebook"
    media_limits = MediaLimits(max_bytes=10_000_000, alt_max=1000)
    """Static photos under 10 MB with ``alt_text_custom``; the alt limit is unconfirmed (docs/networks.md)."""
    supports_threads = False
    max_parts = 1

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or DEFAULT_BASE_URL).strip().rstrip("/")

    def _page_id(self) -> str:
        page_id = (self.settings.page_id or "").strip()
        if not page_id:
            raise AuthError(
                f"channels.{self.channel}.page_id is not set: set it to the Page's numeric id (Page > About "
                '> Page transparency, or GET /me/accounts), e.g. page_id = "104857392011234"'
            )
        return page_id

    def _token(self) -> str:
        return require_token(self.settings.secret_value("token"), self.channel, TOKEN_FIX)

    def _errors(self, response: httpx.Response) -> DeliveryError | None:
        error = graph_error(response)
        where = describe_request(self.network, response.request)
        if error is not None and error.code in DUPLICATE_CODES:
            return UnknownOutcome(
                f"{where}: {error_reason(response)}. The post is probably out already (Facebook does not say "
                "which post it duplicates)"
            )
        if response.status_code == 500 and response.request.method == "POST":
            return UnknownOutcome(
                f"{where} answered 500: {error_reason(response)}; Facebook can make the post anyway, so it "
                "is not resent"
            )
        return graph_errors(self.network, fix=TOKEN_FIX)(response)

    async def _get(self, node: str, fields: str) -> dict[str, Any]:
        response = await send(
            self.http,
            "GET",
            f"{self.base_url}/{node}",
            network=self.network,
            params={"fields": fields, "access_token": self._token()},
            errors=self._errors,
        )
        return read_json(response, network=self.network)

    # --- publishing ----------------------------------------------------------------------------------------

    def _parts(self, post: Outgoing, journal: Journal) -> PartsJournal:
        return PartsJournal(journal, post, network=self.network, advice=ADVICE)

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        refuse_over_length(self.length_rules(self.settings), post.parts, network=self.network)
        if len(post.parts) != 1:
            raise PermanentDeliveryError(
                f"facebook: delivery {post.delivery_id} has {len(post.parts)} parts, but Page posts have no "
                f"reply chain; set thread = false on channels.{self.channel}"
            )
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        page_id, token = self._page_id(), self._token()
        parts = self._parts(post, journal)
        last: httpx.Response | None = None
        for index in parts.pending():
            data = {"message": post.parts[index], "access_token": token}
            body: dict[str, Any] = {"data": data}
            path = f"{page_id}/feed"
            if len(post.media) == 1:
                path = f"{page_id}/photos"
                fields = {**data, "alt_text_custom": post.media[0].alt}
                body = {"data": fields, "files": {"source": upload_file(post.media[0])}}
            elif post.media:
                uploads = UploadJournal(journal, network=self.network)
                photo_ids = [await uploads.once(item, self._unpublished_photo) for item in post.media]
                for n, photo_id in enumerate(photo_ids):
                    data[f"attached_media[{n}]"] = json.dumps({"media_fbid": photo_id})
            elif post.article.url:
                data["link"] = post.article.url
            async with parts.attempt(index):
                last = await send(
                    self.http,
                    "POST",
                    f"{self.base_url}/{path}",
                    network=self.network,
                    errors=self._errors,
                    idempotent=False,
                    **body,
                )
                answer = read_json(last, network=self.network, idempotent=False)
                post_id = answer.get("post_id") or answer.get("id")
                if not isinstance(post_id, str | int):
                    raise UnknownOutcome("facebook: the answer to the post has no id; check the Page")
            await parts.done({"id": str(post_id), "url": None})
            parts.sent[-1]["url"] = await self._permalink(str(post_id))
            await journal.save()
        return self._receipt(parts, last)

    async def _unpublished_photo(self, media: Media) -> str:
        """Upload one image as an unpublished photo of the Page (not a post: a lost answer is simply
        uploaded again, and the orphan stays invisible); its photo id."""
        fields = {"published": "false", "alt_text_custom": media.alt, "access_token": self._token()}
        response = await send(
            self.http,
            "POST",
            f"{self.base_url}/{self._page_id()}/photos",
            network=self.network,
            data=fields,
            files={"source": upload_file(media)},
            errors=graph_errors(self.network, fix=TOKEN_FIX),
        )
        photo_id = read_json(response, network=self.network).get("id")
        if not isinstance(photo_id, str | int):
            raise TransientDeliveryError("facebook: the photo upload answered without an id")
        return str(photo_id)

    async def _permalink(self, post_id: str) -> str:
        """The post's ``permalink_url`` (unconfirmed field), else the ``facebook.com/<id>`` form."""
        try:
            link = (await self._get(post_id, "permalink_url")).get("permalink_url")
        except DeliveryError:
            link = None
        return link if isinstance(link, str) and link else f"https://www.facebook.com/{post_id}"

    @staticmethod
    def _receipt(parts: PartsJournal, last: httpx.Response | None) -> Receipt:
        return receipt_of_parts(parts.sent, pause_for=quota_pause(last))

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """The receipt when the post is recorded, UnknownOutcome when it was in flight, else ``None``."""
        parts = self._parts(post, journal)
        return self._receipt(parts, None) if parts.finished() else None

    # --- checks ----------------------------------------------------------------------------------------

    async def check(self) -> Identity:
        """The Page the token posts to: ``GET /{page_id}?fields=id,name,link``."""
        page = await self._get(self._page_id(), "id,name,link")
        name = page.get("name")
        if not isinstance(name, str) or not name:
            raise PermanentDeliveryError(f"facebook: /{self._page_id()} answered without a name")
        link = page.get("link")
        state, detail = await self._debug_token()
        return Identity(
            account=f"{name} (Page {page.get('id') or self._page_id()})",
            url=link if isinstance(link, str) else None,
            detail=detail,
            token=state,
        )

    async def token_expiry(self) -> str:
        """When the token expires, from ``GET /debug_token`` (``expires_at``, 0 for a Page token that does
        not), or why that could not be read."""
        return (await self._debug_token())[1]

    async def token_expiry_state(self) -> TokenExpiry | None:
        """From ``GET /debug_token``; tagcast does not refresh Facebook tokens."""
        return (await self._debug_token())[0]

    async def _debug_token(self) -> tuple[TokenExpiry | None, str]:
        try:
            response = await send(
                self.http,
                "GET",
                f"{self.base_url}/debug_token",
                network=self.network,
                params={"input_token": self._token(), "access_token": self._token()},
                errors=self._errors,
            )
            data = read_json(response, network=self.network).get("data")
        except DeliveryError as exc:
            return None, f"could not read when the token expires: {exc.reason}"
        expires_at = data.get("expires_at") if isinstance(data, dict) else None
        if not isinstance(expires_at, int) or isinstance(expires_at, bool):
            return None, "Facebook did not say when the token expires"
        state = TokenExpiry(float(expires_at) if expires_at else None, refreshable=False)
        return state, describe_expiry(expires_at) or "Facebook did not say when the token expires"
