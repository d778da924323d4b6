"""The ``bluesky`` adapter: AT Protocol records on a PDS (bsky.social or a self-hosted one), exactly once.

How a delivery stays exactly-once (docs/networks.md, Bluesky: never twice):

1. Before the first request, every part gets its record key (a TID, :func:`make_tid`) and its ``createdAt``,
   and these are saved in ``journal.state`` (``await journal.save()``).
2. Before each part is sent, its full record (text, facets, langs, and for a reply the strong refs of the
   parts before it) is saved in the journal too, then published with ``com.atproto.repo.putRecord`` under
   its key. Putting a byte-identical record again is a no-op on the PDS that returns the same ``uri``/``cid``,
   so a retry can never duplicate a post, and since the journal holds the exact record it can never edit one.
3. :meth:`BlueskyAdapter.reconcile` asks ``getRecord`` for each key: nothing out means "not sent" (a later
   publish reuses the same keys), a complete thread is a receipt, a partial thread is finished.

Images and link cards go with the first part only. Each image (``Outgoing.media``) is uploaded with
``com.atproto.repo.uploadBlob`` and embedded as ``app.bsky.embed.images`` with its ``alt`` and
``aspectRatio``; a post with a card (``Outgoing.card``) and no images gets ``app.bsky.embed.external`` (the
card's thumbnail uploaded the same way). The answered blob objects are journalled (:class:`UploadJournal`)
before the record that names them, so a retry reuses them. The PDS deletes a blob no record uses within
minutes: if the record then meets ``400 BlobNotFound`` (what the reference PDS answers, docs/networks.md), the
journalled blobs are forgotten, uploaded again and the record put once more.

Journal layout (``journal.state["bluesky"]``, versioned)::

    {"version": 1, "did": "did:plc:…", "handle": "alice.test",
     "parts": [{"rkey": "3l…", "created_at": "2026-…Z", "record": {…} | None,
                "uri": "at://…" | None, "cid": "bafy…" | None}, …]}
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.adapters.http import decode_json, error_reason, quota_pause, read_json, redact_url, send
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.uploads import UploadJournal
from scheduler.config.credentials import secret_env_var
from scheduler.errors import AuthError, DeliveryError, PermanentDeliveryError
from scheduler.facets import detect_facets
from scheduler.lazy import httpx
from scheduler.media.model import Media, MediaLimits

DEFAULT_BASE_URL = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
EXTERNAL = "app.bsky.embed.external"
JOURNAL_KEY = "bluesky"
JOURNAL_VERSION = 1
MAX_LANGS = 3

S32_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_PATTERN = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
"""A record key of type ``tid`` (syntax/src/tid.ts)."""


class _TidClock:
    """Microseconds for TIDs that never repeat or go back within this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self.clock_id = secrets.randbelow(1024)

    def next_micros(self) -> int:
        with self._lock:
            self._last = max(time.time_ns() // 1000, self._last + 1)
            return self._last


_TID_CLOCK = _TidClock()


def _s32(value: int, width: int) -> str:
    chars: list[str] = []
    while value:
        value, digit = divmod(value, 32)
        chars.append(S32_ALPHABET[digit])
    return "".join(reversed(chars)).rjust(width, S32_ALPHABET[0])


def make_tid(micros: int | None = None, clock_id: int | None = None) -> str:
    """A new TID: 11 base32-sortable characters of microseconds since the epoch, then 2 of a clock id.

    Successive calls in one process return strictly increasing keys (the microseconds are bumped when the
    clock has not moved), so the parts of a thread sort in order. Pass ``micros``/``clock_id`` to build a
    given TID::

        >>> make_tid(micros=1_700_000_000_000_000, clock_id=0)
        '3ke6kg3wk2222'
    """
    if micros is None:
        micros = _TID_CLOCK.next_micros()
    if not 0 <= micros < 2**53:
        raise ValueError(f"TID timestamp out of range: {micros}")
    clock = _TID_CLOCK.clock_id if clock_id is None else clock_id
    if not 0 <= clock < 1024:
        raise ValueError(f"TID clock id out of range: {clock}")
    return _s32(micros, 11) + _s32(clock, 2)


def format_created_at(moment: datetime) -> str:
    """``createdAt`` as the Bluesky app writes it: UTC, milliseconds, ``Z`` (``2026-01-02T03:04:05.678Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def languages(setting: str | None) -> list[str]:
    """The ``langs`` of a post from the channel's ``language`` (``"en"`` or ``"en, de"``): at most three."""
    if not setting:
        return []
    found: list[str] = []
    for code in re.split(r"[\s,;]+", setting.strip()):
        if code and code not in found:
            found.append(code)
    return found[:MAX_LANGS]


def post_url(handle: str, rkey: str) -> str:
    """The public web address of a post."""
    return f"https://bsky.app/profile/{handle}/post/{rkey}"


@dataclass(frozen=True, slots=True)
class StrongRef:
    """``com.atproto.repo.strongRef``: a record's ``uri`` and the ``cid`` of the exact version."""

    uri: str
    cid: str

    def as_json(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


@dataclass(slots=True)
class _Session:
    did: str
    handle: str
    access: str
    refresh: str


class _ExpiredToken(DeliveryError):
    """The access token has expired (HTTP 400 ``ExpiredToken``): refresh the session and try again."""


def _xrpc_error(response: httpx.Response) -> str | None:
    try:
        data = decode_json(response.content)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) else None


class BlobNotFound(PermanentDeliveryError):
    """A record names a blob the PDS does not have (``400 BlobNotFound``): never uploaded, or deleted
    because no record used it in time."""


def _refine(response: httpx.Response) -> DeliveryError | None:
    """Bluesky's error names where the status alone misleads (``ExpiredToken`` is a 400)."""
    if response.status_code in (400, 401) and _xrpc_error(response) in ("ExpiredToken", "InvalidToken"):
        return _ExpiredToken(error_reason(response))
    if response.status_code == 400 and _xrpc_error(response) == "BlobNotFound":
        return BlobNotFound(f"bluesky: {error_reason(response)}")
    return None


def _record_absent(response: httpx.Response) -> DeliveryError | None:
    if response.status_code == 400 and _xrpc_error(response) == "RecordNotFound":
        return _RecordNotFound(error_reason(response))
    return _refine(response)


class _RecordNotFound(DeliveryError):
    """``getRecord`` answered 400 ``RecordNotFound``."""


class BlueskyAdapter(Adapter):
    """Posts (and reply threads) to a Bluesky PDS with an app password; see the module docstring."""

    max_length = 300
    length_unit = "graphemes"
    max_text_bytes = 3000
    secrets = ("password",)
    settings_keys = frozenset({"base_url", "handle", "language"})
    text_entities = "facets"
    hashtag_url = "https://bsky.app/hashtag/{tag}"
    network: ClassVar[str] = "bluesky"
    media_limits = MediaLimits(
        max_bytes=1_000_000,
        mimes=("image/jpeg", "image/png", "image/webp"),
        alt_max=2000,
        alt_unit="graphemes",
        card_thumb_bytes=1_000_000,
    )
    """1,000,000 bytes per image and per card thumb. The newer lexicon (``@atproto/api`` 0.19) allows
    2,000,000 per image, but the reference PDS (``@atproto/pds`` 0.4.217, tests/pds) refuses a record with an
    image over 1,000,000 (``blob too big``, docs/networks.md): a PDS not yet updated would refuse the post,
    so images are fitted to the bound every PDS takes. The lexicon bounds no alt text; 2000 is the official
    app's."""

    _session: _Session | None = None

    @property
    def base_url(self) -> str:
        return (self.settings.base_url or DEFAULT_BASE_URL).rstrip("/")

    def _url(self, method: str) -> str:
        return f"{self.base_url}/xrpc/{method}"

    # --- sessions ---------------------------------------------------------------------------------------

    async def login(self) -> _Session:
        """``createSession`` with the channel's handle and app password (a 401 becomes AuthError)."""
        handle = self.settings.handle
        password = self.settings.secret_value("password")
        if not handle or not password:
            missing = "handle" if not handle else "password"
            raise AuthError(
                f"bluesky channel '{self.channel}' has no {missing}: set channels.{self.channel}.{missing}"
                + (f" (or {secret_env_var(self.channel, 'password')})" if missing == "password" else "")
            )
        response = await send(
            self.http,
            "POST",
            self._url("com.atproto.server.createSession"),
            network=self.network,
            json={"identifier": handle.lstrip("@"), "password": password},
            errors=self._login_errors,
            guard=self.guard,
        )
        self._session = self._read_session(response)
        return self._session

    def _login_errors(self, response: httpx.Response) -> DeliveryError | None:
        if response.status_code == 401 or _xrpc_error(response) in ("AuthenticationRequired", "AuthRequired"):
            where = f"bluesky: POST {redact_url(response.request.url)}"
            return AuthError(
                f"{where} rejected the handle or app password of channel '{self.channel}' "
                f"({response.status_code}): {error_reason(response, redact=self.guard.redact)}"
            )
        return None

    def _read_session(self, response: httpx.Response) -> _Session:
        data = read_json(response, network=self.network)
        try:
            return _Session(
                did=str(data["did"]),
                handle=str(data["handle"]),
                access=str(data["accessJwt"]),
                refresh=str(data["refreshJwt"]),
            )
        except KeyError as exc:
            raise PermanentDeliveryError(f"bluesky: the session answer has no {exc.args[0]!r}") from exc

    async def _refresh(self, stale: _Session) -> _Session:
        """``refreshSession`` with the refresh token; log in again if that one is spent too.

        When another call already replaced ``stale`` (concurrent sends on one channel), its session is used.
        """
        if self._session is None:
            return await self.login()
        if self._session is not stale:
            return self._session
        try:
            response = await send(
                self.http,
                "POST",
                self._url("com.atproto.server.refreshSession"),
                network=self.network,
                headers={"Authorization": f"Bearer {self._session.refresh}"},
                errors=_refine,
                guard=self.guard,
            )
        except (_ExpiredToken, AuthError):
            return await self.login()
        self._session = self._read_session(response)
        return self._session

    async def _call(
        self,
        method: str,
        xrpc: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        absent_ok: bool = False,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response | None:
        """An authenticated XRPC call; an expired token is refreshed once. ``None`` for RecordNotFound.
        ``content`` is a raw body of type ``content_type`` (a blob)."""
        session = self._session or await self.login()
        hook = _record_absent if absent_ok else _refine
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {session.access}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            try:
                return await send(
                    self.http,
                    method,
                    self._url(xrpc),
                    network=self.network,
                    headers=headers,
                    json=json,
                    params=params,
                    content=content,
                    errors=hook,
                    guard=self.guard,
                )
            except _RecordNotFound:
                return None
            except _ExpiredToken as exc:
                if attempt:
                    raise AuthError(
                        f"bluesky: the session expired again right after a refresh: {exc}"
                    ) from exc
                session = await self._refresh(session)
        raise AssertionError("unreachable")

    # --- records ----------------------------------------------------------------------------------------

    async def put_record(self, rkey: str, record: dict[str, Any]) -> tuple[StrongRef, httpx.Response]:
        """``putRecord`` one post under ``rkey``. Low level: no length check, no journal (tests use it)."""
        session = self._session or await self.login()
        body = {"repo": session.did, "collection": COLLECTION, "rkey": rkey, "record": record}
        response = await self._call("POST", "com.atproto.repo.putRecord", json=body)
        assert response is not None
        data = read_json(response, network=self.network)
        return StrongRef(uri=str(data["uri"]), cid=str(data["cid"])), response

    async def get_record(self, rkey: str) -> tuple[StrongRef, dict[str, Any]] | None:
        """``getRecord`` of one post of this account: its strong ref and value, or ``None`` if absent."""
        session = self._session or await self.login()
        params = {"repo": session.did, "collection": COLLECTION, "rkey": rkey}
        response = await self._call("GET", "com.atproto.repo.getRecord", params=params, absent_ok=True)
        if response is None:
            return None
        data = read_json(response, network=self.network)
        value = data.get("value")
        ref = StrongRef(uri=str(data["uri"]), cid=str(data.get("cid", "")))
        return ref, value if isinstance(value, dict) else {}

    async def upload_blob(self, media: Media) -> dict[str, Any]:
        """``uploadBlob`` one image: the blob object the PDS answers (what a record embeds)."""
        response = await self._call(
            "POST",
            "com.atproto.repo.uploadBlob",
            content=media.read_bytes(),
            content_type=media.mime,
        )
        assert response is not None
        blob = read_json(response, network=self.network).get("blob")
        if not isinstance(blob, dict) or not isinstance(blob.get("ref"), dict):
            raise PermanentDeliveryError(f"bluesky: the answer to the upload of {media.src} has no blob")
        return blob

    async def embed(self, post: Outgoing, journal: Journal) -> dict[str, Any] | None:
        """The first part's embed: its images (``app.bsky.embed.images``, alt and aspect ratio), else its
        link card (``app.bsky.embed.external``), else none; every blob uploaded once (journalled)."""
        uploads = UploadJournal(journal, network=self.network)
        if post.media:
            images = []
            for item in post.media:
                blob = await uploads.once(item, self.upload_blob)
                ratio = {"width": item.width, "height": item.height}
                images.append({"image": blob, "alt": item.alt, "aspectRatio": ratio})
            return {"$type": IMAGES, "images": images}
        card = post.card
        if card is None:
            return None
        external: dict[str, Any] = {"uri": card.uri, "title": card.title, "description": card.description}
        if card.thumb is not None:
            external["thumb"] = await uploads.once(card.thumb, self.upload_blob)
        return {"$type": EXTERNAL, "external": external}

    async def _forget_blobs(self, post: Outgoing, journal: Journal) -> None:
        uploads = UploadJournal(journal, network=self.network)
        thumb = post.card.thumb if post.card is not None else None
        for item in (*post.media, *([thumb] if thumb is not None else [])):
            await uploads.forget(item)

    def build_record(
        self, text: str, created_at: str, *, root: StrongRef | None = None, parent: StrongRef | None = None
    ) -> dict[str, Any]:
        """The ``app.bsky.feed.post`` record of one part, facets and langs included."""
        record: dict[str, Any] = {"$type": COLLECTION, "text": text, "createdAt": created_at}
        facets = detect_facets(text)
        if facets:
            record["facets"] = facets
        langs = languages(self.settings.language)
        if langs:
            record["langs"] = langs
        if root is not None and parent is not None:
            record["reply"] = {"root": root.as_json(), "parent": parent.as_json()}
        return record

    # --- the adapter contract ---------------------------------------------------------------------------

    def _check_lengths(self, post: Outgoing) -> None:
        rules = self.length_rules(self.settings)
        problems = [
            f"part {number}: {problem}"
            for number, text in enumerate(post.parts, start=1)
            for problem in rules.violations(text)
        ]
        if problems:
            raise PermanentDeliveryError(
                f"bluesky: delivery {post.delivery_id} does not fit, nothing was sent: " + "; ".join(problems)
            )

    async def _plan(self, post: Outgoing, journal: Journal) -> dict[str, Any]:
        """The journal entry of this delivery: created (keys and times chosen, saved) on the first attempt."""
        state = journal.state.get(JOURNAL_KEY)
        if isinstance(state, dict):
            version = state.get("version")
            if version != JOURNAL_VERSION:
                raise PermanentDeliveryError(
                    f"bluesky: delivery {post.delivery_id} has journal version {version!r}, "
                    f"this tagcast understands {JOURNAL_VERSION}"
                )
            if len(state.get("parts", [])) != len(post.parts):
                raise PermanentDeliveryError(
                    f"bluesky: delivery {post.delivery_id} was started with {len(state['parts'])} parts "
                    f"and now has {len(post.parts)}; resolve it with `tagcast queue resolve`"
                )
            return state
        session = self._session or await self.login()
        now = datetime.now(UTC)
        state = {
            "version": JOURNAL_VERSION,
            "did": session.did,
            "handle": session.handle,
            "parts": [
                {
                    "rkey": make_tid(),
                    "created_at": format_created_at(now + timedelta(milliseconds=index)),
                    "record": None,
                    "uri": None,
                    "cid": None,
                }
                for index in range(len(post.parts))
            ],
        }
        journal.state[JOURNAL_KEY] = state
        await journal.save()
        return state

    async def _send_parts(self, post: Outgoing, journal: Journal, state: dict[str, Any]) -> Receipt:
        """Put every part that has no ``cid`` yet, in order, saving each record before and ref after."""
        parts: list[dict[str, Any]] = state["parts"]
        last: httpx.Response | None = None
        for index, part in enumerate(parts):
            if part.get("cid"):
                continue
            if part.get("record") is None:
                root = parent = None
                if index:
                    root = StrongRef(parts[0]["uri"], parts[0]["cid"])
                    parent = StrongRef(parts[index - 1]["uri"], parts[index - 1]["cid"])
                record = self.build_record(post.parts[index], part["created_at"], root=root, parent=parent)
                if index == 0 and (embed := await self.embed(post, journal)) is not None:
                    record["embed"] = embed
                part["record"] = record
                await journal.save()
            try:
                ref, last = await self.put_record(part["rkey"], part["record"])
            except BlobNotFound:
                if index or "embed" not in part["record"]:
                    raise
                # The blobs expired before the record named them (a retry long after the upload).
                await self._forget_blobs(post, journal)
                part["record"]["embed"] = await self.embed(post, journal)
                await journal.save()
                ref, last = await self.put_record(part["rkey"], part["record"])
            part["uri"], part["cid"] = ref.uri, ref.cid
            await journal.save()
        return self._receipt(state, pause_for=quota_pause(last))

    def _receipt(self, state: dict[str, Any], *, pause_for: float | None = None) -> Receipt:
        parts = state["parts"]
        handle = (self._session.handle if self._session else None) or state.get("handle") or state["did"]
        return Receipt(
            remote_ids=tuple(part["uri"] for part in parts),
            url=post_url(handle, parts[0]["rkey"]),
            extra={
                "cids": [part["cid"] for part in parts],
                "rkeys": [p["rkey"] for p in parts],
            },
            pause_for=pause_for,
        )

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        """Put each part under the key chosen on the first attempt; replies carry root and parent refs."""
        self._check_lengths(post)
        refuse_unfit_media(self.media_limits, post.media, post.card, network=self.network)
        state = await self._plan(post, journal)
        await self._same_account(post, state)
        return await self._send_parts(post, journal, state)

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """Ask the PDS which parts exist: none -> ``None``; all -> the receipt; some -> send the rest.

        ``None`` is safe: the journal keeps the record keys, so the next :meth:`publish` reuses them.
        """
        state = journal.state.get(JOURNAL_KEY)
        if not isinstance(state, dict) or not state.get("parts"):
            return None
        state = await self._plan(post, journal)
        await self._same_account(post, state)
        present = True
        for part in state["parts"]:
            found = await self.get_record(part["rkey"]) if present else None
            if found is None:
                present = False
                part["uri"] = part["cid"] = None
                continue
            ref, value = found
            part["uri"], part["cid"] = ref.uri, ref.cid
            if part.get("record") is None:
                part["record"] = value
        await journal.save()
        if state["parts"][0]["cid"] is None:
            return None
        return await self._send_parts(post, journal, state)

    async def _same_account(self, post: Outgoing, state: dict[str, Any]) -> None:
        session = self._session or await self.login()
        if session.did != state["did"]:
            raise PermanentDeliveryError(
                f"bluesky: delivery {post.delivery_id} was started as {state['did']} but channel "
                f"'{self.channel}' now logs in as {session.did}; resolve it with `tagcast queue resolve`"
            )

    async def check(self) -> Identity:
        """Log in (``createSession``) and confirm with ``getSession``: the account as ``@handle``."""
        session = await self.login()
        response = await self._call("GET", "com.atproto.server.getSession")
        assert response is not None
        data = read_json(response, network=self.network)
        handle = str(data.get("handle") or session.handle)
        did = str(data.get("did") or session.did)
        return Identity(account=f"@{handle}", url=f"https://bsky.app/profile/{handle}", detail=did)
