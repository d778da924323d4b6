"""A fake Bluesky PDS that enforces what the reference PDS measurably enforces (docs/networks.md, Bluesky).

- sessions: ``createSession`` (handle or DID + password), ``refreshSession`` (single-use refresh tokens),
  ``getSession``; an access token expires after ``token_uses`` calls (400 ``ExpiredToken``);
- records: ``createRecord``, ``putRecord``, ``getRecord``, ``listRecords`` on ``app.bsky.feed.post``, with the
  lexicon checks of the real server: text at most 300 graphemes AND 3000 UTF-8 bytes (its own messages),
  ``createdAt`` required and ISO 8601, at most 3 ``langs``, facets with an ``index`` and non-negative offsets,
  replies with both strong refs, a record key that is a TID;
- ``putRecord`` of an identical record is a no-op returning the same ``uri``/``cid`` (the cid is a hash of the
  canonical JSON of the record); different content is an *edit*, logged in :attr:`BlueskyFake.writes` so tests
  can assert that none happened;
- a write budget (points per DID, put 2 / create 3) announced in ``RateLimit-*`` headers; 429
  ``RateLimitExceeded`` with ``RateLimit-Reset`` (epoch seconds) when spent or when a fault says so.

- blobs (measured on the reference PDS, docs/networks.md): ``uploadBlob`` takes the raw bytes with their
  ``Content-Type`` and answers ``{"blob":{"$type":"blob","ref":{"$link":cid},"mimeType","size"}}`` (the cid is
  the real CIDv1 raw sha-256 of the bytes); ``sync.getBlob`` gives them back. A record whose embed names a
  blob the PDS does not have is ``400 BlobNotFound "Could not find blob: <cid>"``;
  :meth:`BlueskyFake.expire_blobs` deletes the blobs no record uses (the PDS does within minutes).
- embeds: ``app.bsky.embed.images`` at most 4 images, each with ``alt`` (``Missing required key "alt"``), an
  image blob of at most ``image_max_bytes`` (the reference PDS: 1,000,000; the newer lexicon says 2,000,000)
  and an optional ``aspectRatio`` of two positive integers; ``app.bsky.embed.external`` with ``uri``,
  ``title``, ``description`` and an optional ``thumb`` of at most 1,000,000 bytes (``blob too big``). One
  embed holding both ``images`` and ``external`` is refused here (the real PDS stores it and shows only one:
  the fake is stricter, so that a client mixing them is caught).

As on the reference PDS (and unlike a careful client), facet offsets are *not* checked against the text.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fakes.server import FakeServer, Reply, Request, route
from scheduler.length.graphemes import grapheme_count, utf8_length

POST = "app.bsky.feed.post"
IMAGES = "app.bsky.embed.images"
EXTERNAL = "app.bsky.embed.external"
THUMB_MAX_BYTES = 1_000_000
PREFIX = "Invalid app.bsky.feed.post record: "
UPLOAD_LIMIT = 5 * 1024 * 1024
"""The PDS's default ``blobUploadLimit``: a bigger uploadBlob body is refused (413)."""
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
WRITE_COST = {"createRecord": 3, "putRecord": 2}
"""Points per call, whatever the call does (pds/src/rate-limits.ts)."""


def blob_cid(data: bytes) -> str:
    """The CID the PDS gives a blob: CIDv1, codec raw (0x55), sha2-256, base32 (``bafkrei…``)."""
    digest = hashlib.sha256(data).digest()
    return (
        "b" + base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + digest).decode("ascii").rstrip("=").lower()
    )


def canonical_cid(record: dict[str, Any]) -> str:
    """A stand-in for the record's CID: a hash of its canonical JSON, spelled like a CIDv1 (``bafyrei…``)."""
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return "bafyrei" + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


class XrpcError(Exception):
    """An XRPC error answer: ``{"error": name, "message": message}`` with ``status``."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message

    def reply(self) -> Reply:
        return Reply.json({"error": self.name, "message": self.message}, self.status)


def invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


@dataclass
class Account:
    handle: str
    did: str
    password: str


@dataclass
class Blob:
    """An uploaded blob: its bytes and type, and whether a record uses it (else it expires)."""

    cid: str
    data: bytes
    mime: str
    used: bool = False


@dataclass
class StoredRecord:
    value: dict[str, Any]
    cid: str


@dataclass(frozen=True)
class Write:
    """One record write the fake performed: ``kind`` is ``create``, ``update`` (an edit) or ``noop``."""

    kind: str
    uri: str
    cid: str
    at: float


@dataclass
class _Token:
    did: str
    uses: int = 0


@dataclass
class Budget:
    """A write budget per DID, like the PDS's 5000 points an hour (smaller here, to test running out)."""

    points: int = 5000
    window: float = 3600.0
    spent: dict[str, int] = field(default_factory=dict)
    window_start: float = field(default_factory=time.time)

    def reset_at(self) -> float:
        return self.window_start + self.window

    def remaining(self, did: str) -> int:
        if time.time() >= self.reset_at():
            self.spent.clear()
            self.window_start = time.time()
        return self.points - self.spent.get(did, 0)


class BlueskyFake(FakeServer):
    """A PDS with one account (``alice.test`` / ``app-pass-1234``); see the module docstring."""

    name = "bluesky"

    def __init__(
        self,
        *,
        handle: str = "alice.test",
        password: str = "app-pass-1234",
        token_uses: int | None = None,
        write_points: int = 5000,
        image_max_bytes: int = 1_000_000,
    ) -> None:
        super().__init__()
        self.account = Account(handle=handle, did="did:plc:" + secrets.token_hex(12)[:24], password=password)
        self.token_uses = token_uses
        """Calls an access token is good for before it answers ``ExpiredToken``; ``None``: forever."""
        self.budget = Budget(points=write_points)
        self.records: dict[tuple[str, str, str], StoredRecord] = {}
        self.writes: list[Write] = []
        self.sessions_created = 0
        self.refreshes = 0
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, str] = {}
        self.image_max_bytes = image_max_bytes
        self.blobs: dict[str, Blob] = {}
        self.blob_uploads: list[Blob] = []
        """Every ``uploadBlob`` answered, in order (the same bytes twice are two uploads)."""

    def expire_blobs(self) -> None:
        """Delete every blob no record uses, as the PDS does a few minutes after the upload."""
        with self.lock:
            for cid in [cid for cid, blob in self.blobs.items() if not blob.used]:
                del self.blobs[cid]

    # --- queries for tests ------------------------------------------------------------------------------

    @property
    def edits(self) -> list[Write]:
        """Writes that changed an existing record: a retry must never cause one."""
        return [w for w in self.writes if w.kind == "update"]

    def posts(self) -> list[tuple[str, StoredRecord]]:
        """Every post of the account as ``(uri, record)``, in record-key order (TIDs sort by time)."""
        did = self.account.did
        return [
            (f"at://{did}/{POST}/{rkey}", stored)
            for (repo, collection, rkey), stored in sorted(self.records.items())
            if repo == did and collection == POST
        ]

    def record(self, uri: str) -> StoredRecord:
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        return self.records[(repo, collection, rkey)]

    def expire_tokens(self) -> None:
        """Make every access token answer ``ExpiredToken`` from now on (refresh tokens stay good)."""
        for token in self._access.values():
            token.uses = 10**9
        self.token_uses = self.token_uses if self.token_uses is not None else 10**8

    def revoke_refresh_tokens(self) -> None:
        """Make every refresh token handed out so far answer ``ExpiredToken`` (as after its 90 days)."""
        self._refresh.clear()

    # --- answers in the PDS's own format -----------------------------------------------------------------

    def _rate_headers(self, did: str, reset: float | None = None) -> dict[str, str]:
        remaining = max(0, self.budget.remaining(did))
        reset = self.budget.reset_at() if reset is None else reset
        return {
            "RateLimit-Limit": str(self.budget.points),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(math.ceil(reset)),
            "RateLimit-Policy": f"{self.budget.points};w={int(self.budget.window)}",
        }

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        reset = float(math.ceil(time.time() + max(1.0, wait)))
        headers = {**self._rate_headers(self.account.did, reset), "RateLimit-Remaining": "0"}
        reply = Reply.json({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, headers)
        return reply, reset

    def server_error(self, request: Request, status: int) -> Reply:
        return Reply.json({"error": "InternalServerError", "message": "Internal Server Error"}, status)

    def not_found(self, request: Request) -> Reply:
        return Reply.json({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501)

    # --- sessions ---------------------------------------------------------------------------------------

    def _issue(self) -> dict[str, Any]:
        access, refresh = "acc-" + secrets.token_hex(8), "ref-" + secrets.token_hex(8)
        self._access[access] = _Token(self.account.did)
        self._refresh[refresh] = self.account.did
        return {
            "accessJwt": access,
            "refreshJwt": refresh,
            "did": self.account.did,
            "handle": self.account.handle,
            "active": True,
        }

    @staticmethod
    def _bearer(request: Request) -> str:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        return header.removeprefix("Bearer ")

    def _authed(self, request: Request) -> str:
        token = self._access.get(self._bearer(request))
        if token is None:
            raise XrpcError(400, "InvalidToken", "Token could not be verified")
        token.uses += 1
        if self.token_uses is not None and token.uses > self.token_uses:
            raise XrpcError(400, "ExpiredToken", "Token has expired")
        return token.did

    @route("POST", "/xrpc/com.atproto.server.createSession")
    def create_session(self, request: Request) -> Reply:
        body = request.fields()
        identifier, password = body.get("identifier"), body.get("password")
        if identifier not in (self.account.handle, self.account.did) or password != self.account.password:
            return XrpcError(401, "AuthenticationRequired", "Invalid identifier or password").reply()
        self.sessions_created += 1
        return Reply.json(self._issue())

    @route("POST", "/xrpc/com.atproto.server.refreshSession")
    def refresh_session(self, request: Request) -> Reply:
        try:
            token = self._bearer(request)
        except XrpcError as exc:
            return exc.reply()
        if self._refresh.pop(token, None) is None:
            return XrpcError(400, "ExpiredToken", "Token has been revoked").reply()
        self.refreshes += 1
        return Reply.json(self._issue())

    @route("GET", "/xrpc/com.atproto.server.getSession")
    def get_session(self, request: Request) -> Reply:
        try:
            did = self._authed(request)
        except XrpcError as exc:
            return exc.reply()
        return Reply.json({"handle": self.account.handle, "did": did, "active": True})

    # --- records ----------------------------------------------------------------------------------------

    @route("POST", "/xrpc/com.atproto.repo.createRecord")
    def create_record(self, request: Request) -> Reply:
        return self._write(request, put=False)

    @route("POST", "/xrpc/com.atproto.repo.putRecord")
    def put_record(self, request: Request) -> Reply:
        return self._write(request, put=True)

    def _write(self, request: Request, *, put: bool) -> Reply:
        """create/putRecord. As on the PDS, the write budget is charged per call, before the handler runs."""
        try:
            did = self._authed(request)
            cost = WRITE_COST["putRecord" if put else "createRecord"]
            if self.budget.remaining(did) < cost:
                return self.rate_limited(request, self.budget.reset_at() - time.time())[0]
            self.budget.spent[did] = self.budget.spent.get(did, 0) + cost
            body = request.fields()
            repo, collection, record = body.get("repo"), body.get("collection"), body.get("record")
            if repo not in (did, self.account.handle):
                raise XrpcError(401, "AuthenticationRequired", "Unauthorized: not the repo of this session")
            if collection != POST:
                raise invalid(f"Input/collection: this fake PDS only stores {POST}")
            if not isinstance(record, dict):
                raise invalid('Input must have the property "record"')
            rkey = body.get("rkey") or (None if put else _next_tid())
            if not isinstance(rkey, str) or not TID.match(rkey):
                raise invalid(f'Invalid record key for {POST}: Invalid TID string (got "{rkey}") at $')
            if body.get("validate", True) is not False:
                validate_post(record)
                validate_embed(record.get("embed"))
            used = self._blobs_of(record.get("embed"))
            key = (did, collection, rkey)
            existing = self.records.get(key)
            if existing is not None and not put:
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
        except XrpcError as exc:
            return exc.reply()
        for blob in used:
            blob.used = True
        uri, cid = f"at://{did}/{collection}/{rkey}", canonical_cid(record)
        kind = "create" if existing is None else "noop" if existing.cid == cid else "update"
        answer: dict[str, Any] = {"uri": uri, "cid": cid, "validationStatus": "valid"}
        if kind != "noop":
            self.records[key] = StoredRecord(value=record, cid=cid)
            commit = {"commit": uri, "n": len(self.writes)}
            answer["commit"] = {"cid": canonical_cid(commit), "rev": _next_tid()}
        self.writes.append(Write(kind=kind, uri=uri, cid=cid, at=time.time()))
        return Reply.json(answer, headers=self._rate_headers(did))

    def _blobs_of(self, embed: Any) -> list[Blob]:
        """The stored blobs an embed names, with their size checked; BlobNotFound for one never uploaded."""
        if not isinstance(embed, dict):
            return []
        named: list[tuple[Any, int, str]] = []
        for number, image in enumerate(embed.get("images") or []):
            where = f"$.record.embed.images[{number}].image"
            named.append(
                (image.get("image") if isinstance(image, dict) else None, self.image_max_bytes, where)
            )
        external = embed.get("external")
        if isinstance(external, dict) and external.get("thumb") is not None:
            named.append((external["thumb"], THUMB_MAX_BYTES, "$.record.embed.external.thumb"))
        found: list[Blob] = []
        for ref, limit, where in named:
            link = ref.get("ref", {}).get("$link") if isinstance(ref, dict) else None
            if not isinstance(link, str) or ref.get("$type") != "blob":
                raise invalid(f"Invalid app.bsky.feed.post record: Expected blob value at {where}")
            blob = self.blobs.get(link)
            if blob is None:
                raise invalid_blob(link)
            if len(blob.data) > limit:
                size = len(blob.data)
                raise invalid(f"{PREFIX}blob too big (maximum {limit}, got {size}) at {where}")
            if not blob.mime.startswith("image/"):
                raise invalid(f"Invalid app.bsky.feed.post record: Wrong blob mime type at {where}")
            found.append(blob)
        return found

    @route("POST", "/xrpc/com.atproto.repo.uploadBlob")
    def upload_blob(self, request: Request) -> Reply:
        try:
            self._authed(request)
        except XrpcError as exc:
            return exc.reply()
        if len(request.body) > UPLOAD_LIMIT:
            return XrpcError(413, "PayloadTooLarge", "request entity too large").reply()
        mime = request.headers.get("content-type", "").split(";")[0].strip() or "application/octet-stream"
        cid = blob_cid(request.body)
        blob = self.blobs.get(cid) or Blob(cid=cid, data=request.body, mime=mime)
        self.blobs[cid] = blob
        self.blob_uploads.append(blob)
        ref = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(request.body)}
        return Reply.json({"blob": ref})

    @route("GET", "/xrpc/com.atproto.sync.getBlob")
    def get_blob(self, request: Request) -> Reply:
        blob = self.blobs.get(str(request.arg("cid")))
        if request.arg("did") != self.account.did or blob is None:
            return XrpcError(400, "BlobNotFound", "Blob not found").reply()
        return Reply(200, blob.data, {"Content-Type": blob.mime})

    @route("GET", "/xrpc/com.atproto.repo.getRecord")
    def get_record(self, request: Request) -> Reply:
        repo, collection, rkey = request.arg("repo"), request.arg("collection"), request.arg("rkey")
        did = self.account.did if repo in (self.account.did, self.account.handle) else repo
        stored = self.records.get((str(did), str(collection), str(rkey)))
        uri = f"at://{did}/{collection}/{rkey}"
        if stored is None:
            return XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}").reply()
        return Reply.json({"uri": uri, "cid": stored.cid, "value": stored.value})

    @route("GET", "/xrpc/com.atproto.repo.listRecords")
    def list_records(self, request: Request) -> Reply:
        collection = request.arg("collection")
        records = [
            {"uri": uri, "cid": stored.cid, "value": stored.value}
            for uri, stored in reversed(self.posts())
            if collection == POST
        ]
        return Reply.json({"records": records})


class _Revisions:
    """Increasing TIDs for the fake's own keys and commit revisions."""

    def __init__(self) -> None:
        self.last = 0

    def next(self) -> str:
        self.last = max(time.time_ns() // 1000, self.last + 1)
        value, chars = self.last, ""
        while value:
            value, digit = divmod(value, 32)
            chars = "234567abcdefghijklmnopqrstuvwxyz"[digit] + chars
        return chars.rjust(11, "2") + "22"


_next_tid = _Revisions().next


def invalid_blob(cid: str) -> XrpcError:
    """The reference PDS's answer to a record naming a blob it does not have (measured)."""
    return XrpcError(400, "BlobNotFound", f"Could not find blob: {cid}")


def validate_embed(embed: Any) -> None:
    """The lexicon checks of ``app.bsky.embed.images`` / ``app.bsky.embed.external`` (raises InvalidRequest);
    the blobs themselves are checked against the store by the fake."""
    prefix = "Invalid app.bsky.feed.post record: "
    if embed is None:
        return
    if not isinstance(embed, dict):
        raise invalid(prefix + "Expected object value type at $.record.embed")
    if "images" in embed and "external" in embed:
        raise invalid(prefix + "one embed holds images or an external card, not both, at $.record.embed")
    kind = embed.get("$type")
    if kind == IMAGES:
        images = embed.get("images")
        if not isinstance(images, list):
            raise invalid(prefix + 'Missing required key "images" at $.record.embed')
        if len(images) > 4:
            raise invalid(prefix + f"array too big (maximum 4, got {len(images)}) at $.record.embed.images")
        for number, image in enumerate(images):
            where = f"$.record.embed.images[{number}]"
            if not isinstance(image, dict) or "image" not in image:
                raise invalid(prefix + f'Missing required key "image" at {where}')
            if not isinstance(image.get("alt"), str):
                raise invalid(prefix + f'Missing required key "alt" at {where}')
            ratio = image.get("aspectRatio")
            if ratio is not None:
                for side in ("width", "height"):
                    value = ratio.get(side) if isinstance(ratio, dict) else None
                    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                        raise invalid(prefix + f"{where}.aspectRatio.{side} must be an integer of at least 1")
    elif kind == EXTERNAL:
        external = embed.get("external")
        if not isinstance(external, dict):
            raise invalid(prefix + 'Missing required key "external" at $.record.embed')
        for key in ("uri", "title", "description"):
            if not isinstance(external.get(key), str):
                raise invalid(prefix + f'Missing required key "{key}" at $.record.embed.external')
    else:
        raise invalid(prefix + f"this fake knows no embed of $type {kind!r} at $.record.embed")


def validate_post(record: dict[str, Any]) -> None:
    """The lexicon checks of ``app.bsky.feed.post`` that the reference PDS applies (raises InvalidRequest)."""
    prefix = "Invalid app.bsky.feed.post record: "
    if record.get("$type") != POST:
        raise invalid(f"Invalid $type: expected {POST}, got {record.get('$type')!r}")
    text = record.get("text")
    if not isinstance(text, str):
        raise invalid(prefix + 'Missing required key "text" at $.record')
    graphemes = grapheme_count(text)
    if graphemes > 300:
        raise invalid(prefix + f"grapheme too big (maximum 300, got {graphemes}) at $.record.text")
    size = utf8_length(text)
    if size > 3000:
        raise invalid(prefix + f"string too big (maximum 3000, got {size}) at $.record.text")
    created_at = record.get("createdAt")
    if created_at is None:
        raise invalid(prefix + 'Missing required key "createdAt" at $.record')
    if not isinstance(created_at, str) or not _is_datetime(created_at):
        raise invalid(prefix + f"Invalid datetime (got {json.dumps(created_at)}) at $.record.createdAt")
    langs = record.get("langs", [])
    if not isinstance(langs, list):
        raise invalid(prefix + "Expected array value type (got object) at $.record.langs")
    if len(langs) > 3:
        raise invalid(prefix + f"array too big (maximum 3, got {len(langs)}) at $.record.langs")
    for number, facet in enumerate(record.get("facets", []) or []):
        where = f"$.record.facets[{number}]"
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            raise invalid(prefix + f'Missing required key "index" at {where}')
        for name in ("byteStart", "byteEnd"):
            value = index.get(name)
            if not isinstance(value, int) or value < 0:
                raise invalid(prefix + f"integer too small (minimum 0, got {value}) at {where}.index.{name}")
        if not isinstance(facet.get("features"), list):
            raise invalid(prefix + f'Missing required key "features" at {where}')
    reply = record.get("reply")
    if reply is not None:
        for name in ("root", "parent"):
            ref = reply.get(name) if isinstance(reply, dict) else None
            if not isinstance(ref, dict):
                raise invalid(prefix + f'Missing required key "{name}" at $.record.reply')
            for key in ("uri", "cid"):
                if not isinstance(ref.get(key), str) or not ref[key]:
                    raise invalid(prefix + f'Missing required key "{key}" at $.record.reply.{name}')


def _is_datetime(value: str) -> bool:
    if not ISO_DATETIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
