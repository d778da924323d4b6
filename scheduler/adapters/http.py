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
without answering                      default: a retry cannot duplicate), else :class:`UnknownOutcome`
408, 425, 429, 5xx                     :class:`TransientDeliveryError` with ``retry_after`` from the headers
401, 403                               :class:`AuthError`
other 4xx, unexpected 3xx              :class:`PermanentDeliveryError` with the server's own reason
=====================================  ======================================================================

An adapter refines this with ``errors=``: a function called with every non-2xx response before the default
mapping; it returns the error to raise (for example X's duplicate-content 403 as :class:`UnknownOutcome`) or
``None`` to keep the default.

Messages name the network, the method and the host, never a secret: every URL goes through :func:`redact_url`
(Telegram tokens and Discord/Slack webhook secrets live in URL paths).

Rate limits are read by pure functions (:func:`retry_after`, :func:`rate_limit`) that take the response
headers and body, and compute waits against the response's ``Date`` header when there is one, so a skewed
local clock does not shorten them.
"""

from __future__ import annotations

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

import httpx

from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)

if TYPE_CHECKING:
    from scheduler.length import LengthRules

ErrorHook = Callable[[httpx.Response], DeliveryError | None]
"""Refines the mapping of a non-2xx response: return the error to raise, or ``None`` for the default."""

TRANSIENT_STATUSES = frozenset({408, 425, 429})
PAUSE_KEY = "pause_for"
"""``Receipt.extra`` key: seconds the channel should wait before its next post (the quota is used up)."""

_SAFE_SEGMENT = re.compile(r"[A-Za-z][A-Za-z._~-]*|v\d{1,3}(?:\.\d{1,3})?|\d{1,20}")
_SECRET_AFTER = frozenset({"webhooks", "services", "hooks"})
_EPOCH_THRESHOLD = 1_000_000_000
"""A numeric reset at least this large is a Unix time; a smaller one is a number of seconds from now."""


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
    text = text.replace(str(url), redact_url(url))
    for path in {url.raw_path.decode("ascii", "replace"), url.path}:
        if len(path) > 1:
            text = text.replace(path, urlsplit(redact_url(url)).path)
    return text


# --- rate limits -----------------------------------------------------------------------------------------


def _server_now(headers: Mapping[str, str], now: float | None) -> float:
    """The server's clock (its ``Date`` header) when present, else ``now``, else the local clock."""
    date = headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return time.time() if now is None else now


def _seconds(value: float) -> float:
    return max(0.0, math.ceil(value * 1000) / 1000)


def parse_retry_after(value: str, *, now: float) -> float | None:
    """``Retry-After``: delay seconds (``"120"``, Discord's ``"1.5"``) or an HTTP date; seconds from now."""
    value = value.strip()
    try:
        return _seconds(float(value))
    except ValueError:
        pass
    try:
        return _seconds(parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_reset(value: str, *, now: float) -> float | None:
    """A rate-limit reset as seconds from ``now``.

    Accepts an ISO 8601 time (Mastodon's ``X-RateLimit-Reset``), Unix seconds with or without decimals
    (GoToSocial, X ``x-rate-limit-reset``, Bluesky ``RateLimit-Reset``, Discord ``X-RateLimit-Reset``), or a
    small number meaning seconds from now (servers that send a delta).
    """
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            return None
        return _seconds(number - now if number >= _EPOCH_THRESHOLD else number)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _seconds(moment.timestamp() - now)


def _json_object(body: bytes | str) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = jsonlib.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


_RESET_FAMILIES: tuple[tuple[str, str], ...] = (
    ("x-ratelimit-remaining", "x-ratelimit-reset"),
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("ratelimit-remaining", "ratelimit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


def retry_after(
    headers: Mapping[str, str], body: bytes | str = b"", *, status: int = 429, now: float | None = None
) -> float | None:
    """Seconds to wait before the next request, from every source a network may use; the longest wins.

    ``Retry-After`` (seconds or HTTP date), Discord's ``X-RateLimit-Reset-After`` and JSON ``retry_after``,
    Telegram's JSON ``parameters.retry_after``, and, on a 429 (or whenever ``Remaining`` is 0), the reset of
    each rate-limit header family (``X-RateLimit-*``, X's ``x-rate-limit-*`` and 24-hour
    ``x-*-limit-24hour-*``, Bluesky's ``RateLimit-*``). ``None`` when nothing says how long.
    """
    headers = httpx.Headers(headers)
    moment = _server_now(headers, now)
    waits: list[float] = []
    if (value := headers.get("retry-after")) is not None:
        waits.extend(w for w in [parse_retry_after(value, now=moment)] if w is not None)
    if (value := headers.get("x-ratelimit-reset-after")) is not None:
        waits.extend(w for w in [parse_reset(value, now=0.0)] if w is not None)
    data = _json_object(body) or {}
    candidates = [data.get("retry_after")]
    if isinstance(data.get("parameters"), dict):
        candidates.append(data["parameters"].get("retry_after"))
    waits.extend(_seconds(c) for c in candidates if isinstance(c, int | float) and not isinstance(c, bool))
    for remaining_name, reset_name in _RESET_FAMILIES:
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


def rate_limit(headers: Mapping[str, str], *, now: float | None = None) -> RateLimit | None:
    """The first rate-limit header family present (the most restrictive exhausted one wins), else ``None``."""
    headers = httpx.Headers(headers)
    moment = _server_now(headers, now)
    found: list[RateLimit] = []
    for remaining_name, reset_name in _RESET_FAMILIES:
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


def pause_extra(response: httpx.Response) -> dict[str, Any]:
    """``{PAUSE_KEY: seconds}`` for ``Receipt.extra`` when this response used up the quota, else ``{}``."""
    limit = rate_limit(response.headers)
    return {PAUSE_KEY: limit.reset_after} if limit is not None and limit.exhausted else {}


# --- error bodies ----------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def error_reason(response: httpx.Response, *, limit: int = 300) -> str:
    """The server's own explanation of a failed response, in one line.

    Understands Mastodon ``{"error"}``, Bluesky ``{"error","message"}``, X problem+json ``{"title","detail"}``
    and ``{"errors":[{"message"}]}``, Telegram ``{"description"}``, Discord ``{"message","code"}``, Graph
    ``{"error":{"message"}}``, and plain text (Slack); falls back to the status line.
    """
    data = _json_object(response.content)
    reason: str | None = None
    if data is not None:
        error = data.get("error")
        if isinstance(error, dict):
            reason = _text(error.get("message"))
            if reason and error.get("code") is not None:
                reason = f"{reason} (code {error['code']})"
        elif (name := _text(error)) is not None:
            message = _text(data.get("message"))
            reason = f"{name}: {message}" if message else name
        elif (title := _text(data.get("title"))) is not None or _text(data.get("detail")):
            detail = _text(data.get("detail"))
            reason = f"{title}: {detail}" if title and detail and detail != title else (detail or title)
        elif (description := _text(data.get("description"))) is not None:
            reason = description
        elif (message := _text(data.get("message"))) is not None:
            reason = f"{message} (code {data['code']})" if data.get("code") is not None else message
        errors = data.get("errors")
        if reason is None and isinstance(errors, list):
            messages = [_text(e.get("message")) for e in errors if isinstance(e, dict)]
            reason = "; ".join(m for m in messages if m) or None
    if reason is None and data is None:
        reason = _text(" ".join(response.text.split())) if response.content else None
    if reason is None:
        reason = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def describe_request(network: str, request: httpx.Request) -> str:
    """``"mastodon: POST https://host/api/v1/statuses"``, redacted: the prefix of every delivery message."""
    return f"{network}: {request.method} {redact_url(request.url)}"


def map_response(
    response: httpx.Response, *, network: str, errors: ErrorHook | None = None, now: float | None = None
) -> DeliveryError | None:
    """The error a non-2xx ``response`` stands for (see the module table), or ``None`` for a 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if errors is not None and (refined := errors(response)) is not None:
        return refined
    where = describe_request(network, response.request)
    reason = _scrub(error_reason(response), response.request.url)
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after(response.headers, response.content, status=status, now=now)
        note = f"; retry in {wait:g} s" if wait is not None else ""
        return TransientDeliveryError(f"{where} answered {status}: {reason}{note}", retry_after=wait)
    if status in (401, 403):
        return AuthError(f"{where} rejected the credentials ({status}): {reason}")
    return PermanentDeliveryError(f"{where} refused ({status}): {reason}")


# --- sending ---------------------------------------------------------------------------------------------


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
) -> httpx.Response:
    """Send one request and return its 2xx response, or raise the delivery error it stands for.

    ``network`` names the adapter in messages. ``idempotent=False`` (a POST that a retry could duplicate)
    turns a lost answer (read timeout, reset, server closed the connection) into :class:`UnknownOutcome`
    instead of a transient error. ``timeout=None`` means the client's timeout. ``errors`` refines the status
    mapping.
    """
    request = client.build_request(
        method,
        url,
        headers=headers,
        json=json,
        data=data,
        params=params,
        content=content,
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    )
    try:
        response = await client.send(request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        where = describe_request(network, request)  # only now: redacting the URL costs, on every post
        raise TransientDeliveryError(
            f"{where}: cannot connect to {request.url.host} ({_describe(exc, request.url)})"
        ) from exc
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        timed_out = isinstance(exc, httpx.TimeoutException)
        what = "timed out waiting for the answer" if timed_out else "lost the answer"
        detail = f"{describe_request(network, request)}: {what} ({_describe(exc, request.url)})"
        if idempotent:
            raise TransientDeliveryError(detail) from exc
        raise UnknownOutcome(f"{detail}; the server may have processed it, so it is not resent") from exc
    error = map_response(response, network=network, errors=errors)
    if error is not None:
        raise error
    return response


def _describe(exc: Exception, url: httpx.URL) -> str:
    message = _scrub(str(exc), url)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def read_json(response: httpx.Response, *, network: str, idempotent: bool = True) -> dict[str, Any]:
    """The JSON object of a 2xx response; anything else is transient (unknown when not ``idempotent``)."""
    data = _json_object(response.content)
    if data is not None:
        return data
    reason = (
        f"{describe_request(network, response.request)} answered {response.status_code} "
        "with a body that is not a JSON object"
    )
    if idempotent:
        raise TransientDeliveryError(reason)
    raise UnknownOutcome(f"{reason}; the post may be out, so it is not resent")


def refuse_over_length(rules: LengthRules, parts: Sequence[str], *, network: str) -> None:
    """Raise PermanentDeliveryError naming every part that breaks ``rules``, before anything is sent.

    Call it first in ``publish``: a post the network would refuse must not leave half a thread behind.
    """
    problems = [
        f"part {number}/{len(parts)}: {problem}"
        for number, text in enumerate(parts, start=1)
        for problem in rules.violations(text)
    ]
    if problems:
        detail = "; ".join(problems)
        raise PermanentDeliveryError(f"{network}: the post does not fit, nothing was sent: {detail}")
