"""HTTP plumbing shared by every network adapter: send a request, map the outcome, read rate limits.

An adapter builds the payload and reads the answer; everything else happens here, once::

    response = await send(self.http, "POST", f"{base}/api/v1/statuses", network="mastodon",
                          headers={"Authorization": f"Bearer {token}"}, data={"status": text})
    status = read_json(response, network="mastodon")

:func:`send` returns only a 2xx response. Anything else becomes a typed delivery error:

=====================================  ======================================================================
outcome                                raised
=====================================  ======================================================================
connect error / connect or pool        :class:`TransientDeliveryError` (the request never left)
timeout
read timeout, reset, server closed     :class:`TransientDeliveryError` when ``idempotent=True`` (the
without answering, the request         default: a retry cannot duplicate), else :class:`UnknownOutcome`
deadline passed, a 2xx answer over
the size cap
408, 425, 429, 5xx                     :class:`TransientDeliveryError` with ``retry_after`` from the headers
401, 403                               :class:`AuthError`
other 4xx, unexpected 3xx              :class:`PermanentDeliveryError` with the server's own reason
=====================================  ======================================================================

An adapter refines this with ``errors=``: a function called with every non-2xx response before the default
mapping; it returns the error to raise (for example X's duplicate-content 403 as :class:`UnknownOutcome`) or
``None`` to keep the default.

Every request is bounded (:class:`RequestGuard`, from the channel's ``request_deadline`` and
``max_response_bytes``): a total deadline, however slowly the server trickles, and a cap on the bytes of the
answer that are read. A body the JSON parser cannot read, even one nested too deeply for it, is a bad
response (:func:`decode_json`), never an unexpected exception.

Messages name the network, the method and the host, never a secret: every URL goes through :func:`redact_url`
(Telegram tokens and Discord/Slack webhook secrets live in URL paths).

Rate limits are read by pure functions (:func:`retry_after`, :func:`rate_limit`) that take the response
headers and body, and compute waits against the response's ``Date`` header when there is one, so a skewed
local clock does not shorten them.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scheduler.config.redact import Redactor
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.lazy import httpx

if TYPE_CHECKING:
    from scheduler.length import LengthRules

ErrorHook = Callable[["httpx.Response"], DeliveryError | None]
"""Refines the mapping of a non-2xx response: return the error to raise, or ``None`` for the default."""

Files = Mapping[str, tuple[str, bytes, str]]
"""The files of a ``multipart/form-data`` upload: field name -> (file name, bytes, content type)."""

BodyReader = Callable[[Any], Any]
"""Reads a network's own fields in a decoded JSON error body (any JSON value): its explanation
(:meth:`~scheduler.adapters.base.Adapter.error_text`) or its wait
(:meth:`~scheduler.adapters.base.Adapter.body_retry_after`); ``None`` when the body does not say."""

TRANSIENT_STATUSES = frozenset({408, 425, 429})

_SAFE_SEGMENT = re.compile(r"[A-Za-z][A-Za-z._~-]*|v\d{1,3}(?:\.\d{1,3})?|\d{1,20}")
_SECRET_AFTER = frozenset({"webhooks", "services", "hooks"})
_EPOCH_THRESHOLD = 1_000_000_000
"""A numeric reset at least this large is a Unix time; a smaller one is a number of seconds from now."""
_NUMBER = re.compile(
    r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE
)
MAX_SERVER_WAIT = 366 * 24 * 3600.0
"""The longest wait any server answer can set (a year); the retry policy then bounds it by ``backoff_max``
and ``max_age`` (:mod:`scheduler.service.retry`)."""


def redact_url(url: str | httpx.URL) -> str:
    """``url`` with scheme, host and port kept and anything that may be a secret masked as ``***``.

    Path segments that are plain words (``statuses``), version tags (``v10``) or numeric ids stay; anything
    else (``bot123:ABC…``, tokens) and every segment after ``webhooks``/``services``/``hooks`` is masked, as
    are user info and query values::

        >>> redact_url("https://api.telegram.org/bot123:AA-secret/sendMessage")
        'https://api.telegram.org/***/sendMessage'
        >>> redact_url("https://discord.com/api/v10/webhooks/123/tok?wait=true")
        'https://discord.com/api/v10/webhooks/***/***?wait=***'
    """
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    segments: list[str] = []
    masking = False
    for segment in parts.path.split("/"):
        if segment == "":
            segments.append(segment)
            continue
        keep = not masking and _SAFE_SEGMENT.fullmatch(segment) is not None
        segments.append(segment if keep else "***")
        masking = masking or segment.lower() in _SECRET_AFTER
    query = urlencode([(name, "***") for name, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, "/".join(segments), query, ""))


def _scrub(text: str, url: httpx.URL) -> str:
    """``text`` with the URL and its path (which may hold a secret) replaced by their redacted forms."""
    shown = redact_url(url)
    path = urlsplit(shown).path
    paths = {url.raw_path.decode("ascii", "replace"), url.path}
    return Redactor(shown={str(url): shown, **{p: path for p in paths if len(p) > 1}})(text)


# --- rate limits -----------------------------------------------------------------------------------------


def _server_now(headers: Mapping[str, str], now: float | None) -> float:
    """The server's clock (its ``Date`` header) when present, else ``now``, else the local clock."""
    date = headers.get("date")
    if date:
        try:
            moment = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            moment = math.nan
        if math.isfinite(moment):
            return moment
    return time.time() if now is None else now


def bounded_seconds(value: object) -> float | None:
    """A wait a server asked for, as seconds in ``[0, MAX_SERVER_WAIT]`` (rounded up to the millisecond).

    The one place a server's number becomes a wait: negative is 0, anything longer than
    :data:`MAX_SERVER_WAIT` (``1e12``, ``inf``, an integer too large for a float, a date in year 9999) is cut
    to it, and what is not a number (``NaN``, text, ``true``) is ``None``. Never raises, so the arithmetic
    done on the result (``now + timedelta(seconds=...)``) cannot overflow::

        >>> bounded_seconds("1.5"), bounded_seconds(-3), bounded_seconds("1e12"), bounded_seconds("nan")
        (1.5, 0.0, 31622400.0, None)
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    except OverflowError:  # an integer too large for a float
        number = math.inf if isinstance(value, int) and value > 0 else 0.0
    if math.isnan(number):
        return None
    number = min(max(number, 0.0), MAX_SERVER_WAIT)
    return math.ceil(number * 1000) / 1000


def _date_seconds(text: str, now: float) -> float | None:
    """Seconds from ``now`` to an HTTP date (``Retry-After``) or an ISO 8601 time; ``None`` if neither."""
    moment: datetime | None = None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return bounded_seconds(moment.timestamp() - now)
    except (OverflowError, ValueError):  # an offset that moves year 1 or 9999 out of range
        return None


def parse_retry_after(value: str, *, now: float) -> float | None:
    """``Retry-After``: delay seconds (``"120"``, Discord's ``"1.5"``) or an HTTP date; seconds from now,
    bounded (:func:`bounded_seconds`); ``None`` when it is neither."""
    value = value.strip()[:100]
    if _NUMBER.fullmatch(value):
        return bounded_seconds(value)
    return _date_seconds(value, now)


def parse_reset(value: str, *, now: float) -> float | None:
    """A rate-limit reset as seconds from ``now``, bounded (:func:`bounded_seconds`).

    Accepts an ISO 8601 time (Mastodon's ``X-RateLimit-Reset``), Unix seconds with or without decimals
    (GoToSocial, X ``x-rate-limit-reset``, Bluesky ``RateLimit-Reset``, Discord ``X-RateLimit-Reset``), or a
    small number meaning seconds from now (servers that send a delta).
    """
    value = value.strip()[:100]
    if not _NUMBER.fullmatch(value):
        return _date_seconds(value, now)
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    if math.isnan(number):
        return None
    return bounded_seconds(number - now if number >= _EPOCH_THRESHOLD else number)


def decode_json(body: bytes | str) -> Any:
    """A server's JSON answer, parsed; any way it can fail raises ``ValueError`` saying why.

    Hostile answers included: bytes that are not UTF-8, broken syntax, and nesting too deep for the parser
    (``[[[[...`` 200 000 levels, which ``json.loads`` answers with ``RecursionError``). Use it instead of
    ``response.json()`` for every server answer, so a bad answer is a bad response, not a bug.
    """
    try:
        return jsonlib.loads(body)
    except RecursionError as exc:
        raise ValueError("the JSON is nested too deeply to read") from exc
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ValueError(f"not valid JSON ({type(exc).__name__}: {str(exc)[:120]})") from exc


def _json_value(body: bytes | str) -> Any:
    if not body:
        return None
    try:
        return decode_json(body)
    except ValueError:
        return None


def _json_object(body: bytes | str) -> dict[str, Any] | None:
    data = _json_value(body)
    return data if isinstance(data, dict) else None


def _json_problem(response: httpx.Response) -> str | None:
    """Why a body that claims to be JSON (by its content type or its first character) is not, else None."""
    content = response.content
    looks_json = "json" in response.headers.get("content-type", "") or content.lstrip()[:1] in (b"{", b"[")
    if not content or not looks_json:
        return None
    try:
        decode_json(content)
    except ValueError as exc:
        return str(exc)
    return None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value[:100]))
    except (ValueError, OverflowError):  # "nan", "inf", garbage
        return None


QuotaHeaders = tuple[tuple[str, str], ...]
"""Rate-limit header families, each ``(remaining header, reset header)``; the limit header is the remaining
one with ``limit`` for ``remaining``."""

COMMON_QUOTA_HEADERS: QuotaHeaders = (
    ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("ratelimit-remaining", "ratelimit-reset"),
)
"""The families read for every network; a network with its own adds them in
:attr:`Adapter.quota_headers <scheduler.adapters.base.Adapter.quota_headers>` (X: its 24-hour quotas)."""


def retry_after(
    headers: Mapping[str, str],
    body: bytes | str = b"",
    *,
    status: int = 429,
    now: float | None = None,
    wait_in_body: BodyReader | None = None,
    quota_headers: QuotaHeaders = (),
) -> float | None:
    """Seconds to wait before the next request, from every source a network may use; the longest wins.

    ``Retry-After`` (seconds or HTTP date), ``X-RateLimit-Reset-After`` (seconds), the wait the network's
    ``wait_in_body`` reads in a JSON body (Discord's ``retry_after``, Telegram's ``parameters.retry_after``:
    :meth:`~scheduler.adapters.base.Adapter.body_retry_after`), and, on a 429 (or whenever ``Remaining`` is
    0), the reset of each rate-limit header family (:data:`COMMON_QUOTA_HEADERS`: ``X-RateLimit-*``,
    ``x-rate-limit-*``, ``RateLimit-*``; and the network's own ``quota_headers``, X's 24-hour
    ``x-*-limit-24hour-*``). ``None`` when nothing says how long.
    """
    headers = httpx.Headers(headers)
    moment = _server_now(headers, now)
    waits: list[float] = []
    if (value := headers.get("retry-after")) is not None:
        waits.extend(w for w in [parse_retry_after(value, now=moment)] if w is not None)
    if (value := headers.get("x-ratelimit-reset-after")) is not None:
        waits.extend(w for w in [parse_reset(value, now=0.0)] if w is not None)
    if wait_in_body is not None and (data := _json_value(body)) is not None:
        said = wait_in_body(data)
        if isinstance(said, int | float) and (wait := bounded_seconds(said)) is not None:
            waits.append(wait)
    for remaining_name, reset_name in COMMON_QUOTA_HEADERS + quota_headers:
        reset = headers.get(reset_name)
        if reset is None:
            continue
        remaining = _header_int(headers, remaining_name)
        if (status == 429 and remaining in (None, 0)) or remaining == 0:
            wait = parse_reset(reset, now=moment)
            if wait is not None:
                waits.append(wait)
    return max(waits) if waits else None


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The rate-limit headers of one response (any family); ``reset_after`` is seconds from the response."""

    limit: int | None
    remaining: int | None
    reset_after: float | None

    @property
    def exhausted(self) -> bool:
        """No request left and the window has not ended yet: pause the channel for ``reset_after`` seconds."""
        return self.remaining == 0 and bool(self.reset_after)


def rate_limit(
    headers: Mapping[str, str], *, now: float | None = None, quota_headers: QuotaHeaders = ()
) -> RateLimit | None:
    """The first rate-limit header family present (the most restrictive exhausted one wins), else ``None``;
    :data:`COMMON_QUOTA_HEADERS` and the network's own ``quota_headers``."""
    headers = httpx.Headers(headers)
    moment = _server_now(headers, now)
    found: list[RateLimit] = []
    for remaining_name, reset_name in COMMON_QUOTA_HEADERS + quota_headers:
        remaining = _header_int(headers, remaining_name)
        reset = headers.get(reset_name)
        if remaining is None and reset is None:
            continue
        limit = _header_int(headers, remaining_name.replace("remaining", "limit"))
        found.append(RateLimit(limit, remaining, parse_reset(reset, now=moment) if reset else None))
    if not found:
        return None
    exhausted = [r for r in found if r.exhausted]
    return max(exhausted, key=lambda r: r.reset_after or 0.0) if exhausted else found[0]


def quota_pause(response: httpx.Response | None, quota_headers: QuotaHeaders = ()) -> float | None:
    """``Receipt.pause_for``: the seconds until the quota resets when ``response`` used it up, else None
    (``quota_headers``: the network's own families, :attr:`Adapter.quota_headers
    <scheduler.adapters.base.Adapter.quota_headers>`)."""
    limit = rate_limit(response.headers, quota_headers=quota_headers) if response is not None else None
    return limit.reset_after if limit is not None and limit.exhausted else None


# --- error bodies ----------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def error_reason(
    response: httpx.Response,
    *,
    limit: int = 300,
    redact: Callable[[str], str] | None = None,
    explain: BodyReader | None = None,
) -> str:
    """The server's own explanation of a failed response, in one line of at most ``limit`` characters,
    masked by ``redact`` (the channel's secrets, :class:`~scheduler.config.redact.Redactor`) BEFORE it is cut,
    so that no cut leaves a secret's beginning behind.

    A JSON body is first read by the network's ``explain``
    (:meth:`~scheduler.adapters.base.Adapter.error_text`, passed in by the adapter's
    :class:`RequestGuard`); when it says nothing, the common shapes are read: ``{"error": name, "message":
    text}``, ``{"error": {"message": text, "code": n}}`` (Graph and other JSON APIs), ``{"message": text,
    "code": n}``, ``{"errors": [{"message": text}]}``; then plain text; then the status line.
    """
    data = _json_object(response.content)
    said = explain(data) if explain is not None and data is not None else None
    reason: str | None = _text(said)
    if data is not None and reason is None:
        error = data.get("error")
        if isinstance(error, dict):
            reason = _text(error.get("message"))
            if reason and error.get("code") is not None:
                reason = f"{reason} (code {error['code']})"
        elif (name := _text(error)) is not None:
            message = _text(data.get("message"))
            reason = f"{name}: {message}" if message else name
        elif (message := _text(data.get("message"))) is not None:
            reason = f"{message} (code {data['code']})" if data.get("code") is not None else message
        errors = data.get("errors")
        if reason is None and isinstance(errors, list):
            messages = [_text(e.get("message")) for e in errors if isinstance(e, dict)]
            reason = "; ".join(m for m in messages if m) or None
    status_line = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if reason is None and data is None and (problem := _json_problem(response)) is not None:
        reason = f"{status_line}, a bad response: {problem}"
    if reason is None and data is None:
        reason = _text(" ".join(response.text.split())) if response.content else None
    if reason is None:
        reason = status_line
    if redact is not None:
        reason = redact(reason)
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def describe_request(network: str, request: httpx.Request) -> str:
    """``"mastodon: POST https://host/api/v1/statuses"``, redacted: the prefix of every delivery message."""
    return f"{network}: {request.method} {redact_url(request.url)}"


def map_response(
    response: httpx.Response,
    *,
    network: str,
    errors: ErrorHook | None = None,
    now: float | None = None,
    redact: Callable[[str], str] | None = None,
    explain: BodyReader | None = None,
    wait_in_body: BodyReader | None = None,
    quota_headers: QuotaHeaders = (),
) -> DeliveryError | None:
    """The error a non-2xx ``response`` stands for (see the module table), or ``None`` for a 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if errors is not None and (refined := errors(response)) is not None:
        return refined
    where = describe_request(network, response.request)
    reason = error_reason(response, redact=_scrubber(response.request.url, redact), explain=explain)
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after(
            response.headers,
            response.content,
            status=status,
            now=now,
            wait_in_body=wait_in_body,
            quota_headers=quota_headers,
        )
        note = f"; retry in {wait:g} s" if wait is not None else ""
        return TransientDeliveryError(f"{where} answered {status}: {reason}{note}", retry_after=wait)
    if status in (401, 403):
        return AuthError(f"{where} rejected the credentials ({status}): {reason}")
    return PermanentDeliveryError(f"{where} refused ({status}): {reason}")


def _scrubber(url: httpx.URL, redact: Callable[[str], str] | None) -> Callable[[str], str]:
    def scrub(text: str) -> str:
        text = _scrub(text, url)
        return redact(text) if redact is not None else text

    return scrub


# --- sending ---------------------------------------------------------------------------------------------


def _unmasked(text: str) -> str:
    return text


DEFAULT_DEADLINE = 60.0
"""Seconds a request may take in all (connect, headers, body) unless the channel sets ``request_deadline``."""
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
"""Bytes of one answer read at most unless the channel sets ``max_response_bytes``."""


@dataclass(frozen=True, slots=True)
class RequestGuard:
    """What every request of a channel is held to: a total ``deadline`` in seconds (connect, headers and
    body together, however slowly the server trickles), a cap of ``max_bytes`` on the answer it reads
    (decoded), and ``redact``, which masks the channel's secrets in every message before it is cut.

    An adapter passes its own (:attr:`~scheduler.adapters.base.Adapter.guard`, from the channel keys
    ``request_deadline`` and ``max_response_bytes``); :func:`send` without one uses the defaults."""

    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    redact: Callable[[str], str] = _unmasked
    explain: BodyReader | None = None
    """The network's reading of its JSON error bodies (``Adapter.error_text``)."""
    wait_in_body: BodyReader | None = None
    """The network's wait in a JSON error body (``Adapter.body_retry_after``)."""
    quota_headers: QuotaHeaders = ()
    """The network's own rate-limit header families (``Adapter.quota_headers``)."""


DEFAULT_GUARD = RequestGuard()


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    network: str,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    content: bytes | None = None,
    timeout: float | httpx.Timeout | None = None,
    errors: ErrorHook | None = None,
    idempotent: bool = True,
    guard: RequestGuard | None = None,
    files: Files | None = None,
) -> httpx.Response:
    """Send one request and return its 2xx response (its body read), or raise the delivery error it stands
    for.

    ``network`` names the adapter in messages. ``idempotent=False`` (a POST that a retry could duplicate)
    turns a lost answer (read timeout, reset, server closed the connection, the deadline passed, an answer
    over the size cap) into :class:`UnknownOutcome` instead of a transient error. ``timeout=None`` means the
    client's timeout (for each phase: connect, each read). ``guard`` bounds the whole request and the size of
    its answer (:class:`RequestGuard`). ``errors`` refines the status mapping. ``files`` makes the body
    ``multipart/form-data``, encoded by httpx: each field name maps to ``(filename, bytes, content type)``
    (:func:`~scheduler.adapters.uploads.upload_file`), beside the string fields of ``data`` (an image upload).
    """
    guard = guard or DEFAULT_GUARD
    request = client.build_request(
        method,
        url,
        headers=headers,
        json=json,
        data=data,
        params=params,
        content=content,
        files=files,
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    )
    try:
        async with asyncio.timeout(guard.deadline):
            response = await client.send(request, stream=True)
            try:
                complete = await _read_capped(response, guard.max_bytes)
            finally:
                await response.aclose()
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        where = describe_request(network, request)  # only now: redacting the URL costs, on every post
        raise TransientDeliveryError(
            f"{where}: cannot connect to {request.url.host} ({_describe(exc, request.url, guard)})"
        ) from exc
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        timed_out = isinstance(exc, httpx.TimeoutException)
        what = "timed out waiting for the answer" if timed_out else "lost the answer"
        detail = f"{describe_request(network, request)}: {what} ({_describe(exc, request.url, guard)})"
        raise _lost(detail, idempotent) from exc
    except TimeoutError as exc:
        detail = (
            f"{describe_request(network, request)}: no complete answer within the request deadline of "
            f"{guard.deadline:g} s (channel key request_deadline)"
        )
        raise _lost(detail, idempotent) from exc
    if not complete and response.is_success:
        detail = (
            f"{describe_request(network, request)} answered {response.status_code} with more than "
            f"{guard.max_bytes} bytes, the response size cap (channel key max_response_bytes); "
            "the answer was not read"
        )
        raise _lost(detail, idempotent)
    error = map_response(
        response,
        network=network,
        errors=errors,
        redact=guard.redact,
        explain=guard.explain,
        wait_in_body=guard.wait_in_body,
        quota_headers=guard.quota_headers,
    )
    if error is not None:
        raise error
    return response


async def _read_capped(response: httpx.Response, max_bytes: int) -> bool:
    """Read the (decoded) body of a streamed ``response`` up to ``max_bytes``: True when it all fit. An
    answer over the cap is not kept: its content becomes a short note saying so (what an error shows)."""
    declared = response.headers.get("content-length", "")
    too_long = declared.isdigit() and int(declared) > max_bytes
    chunks: list[bytes] = []
    size = 0
    if not too_long:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                too_long = True
                break
            chunks.append(chunk)
    if too_long:
        chunks = [
            f"(an answer of more than {max_bytes} bytes, not read: channel key max_response_bytes)".encode()
        ]
        response.headers["content-type"] = "text/plain; charset=utf-8"
    # What Response.aread() does once the stream is consumed; the stream itself is closed by the caller.
    response._content = b"".join(chunks)
    return not too_long


def _lost(detail: str, idempotent: bool) -> DeliveryError:
    """A request whose answer never came whole: transient when a retry cannot duplicate it, else unknown."""
    if idempotent:
        return TransientDeliveryError(detail)
    return UnknownOutcome(f"{detail}; the server may have processed it, so it is not resent")


def _describe(exc: Exception, url: httpx.URL, guard: RequestGuard = DEFAULT_GUARD) -> str:
    message = guard.redact(_scrub(str(exc), url))
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def read_json(response: httpx.Response, *, network: str, idempotent: bool = True) -> dict[str, Any]:
    """The JSON object of a 2xx response; anything else (not JSON, not an object, nested too deeply) is a
    bad response: transient (unknown when not ``idempotent``), naming what is wrong."""
    try:
        data = decode_json(response.content) if response.content else None
        problem = "" if isinstance(data, dict) else "not a JSON object"
    except ValueError as exc:
        data, problem = None, str(exc)
    if isinstance(data, dict):
        return data
    reason = (
        f"{describe_request(network, response.request)} answered {response.status_code} "
        f"with a bad response: {problem}"
    )
    if idempotent:
        raise TransientDeliveryError(reason)
    raise UnknownOutcome(f"{reason}; the post may be out, so it is not resent")


def refuse_over_length(rules: LengthRules, parts: Sequence[str], *, network: str) -> None:
    """Raise PermanentDeliveryError naming every part that breaks ``rules``, before anything is sent.

    Call it first in ``publish``: a post the network would refuse must not leave half a thread behind. Each
    part is held to its own limit (:meth:`~scheduler.length.LengthRules.for_part`).
    """
    problems = [
        f"part {number}/{len(parts)}: {problem}"
        for number, text in enumerate(parts, start=1)
        for problem in rules.for_part(number - 1).violations(text)
    ]
    if problems:
        detail = "; ".join(problems)
        raise PermanentDeliveryError(f"{network}: the post does not fit, nothing was sent: {detail}")
