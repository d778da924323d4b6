"""Meta's Graph error bodies, shared by the ``threads`` and ``facebook`` adapters.

Both APIs answer a failure with ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``
(docs/networks.md, Threads: limits and errors; Facebook Pages: errors), often with HTTP 400 whatever the
cause, so the status alone does not say whether to retry. :func:`graph_errors` reads the code:

==============================================  ============================================================
code                                            raised
==============================================  ============================================================
190, 102 (token invalid or expired), 10 and     :class:`AuthError`: the channel pauses until the token is
200-299 (a permission is missing)               fixed
4, 17, 32, 613, 80001-80014 (rate limits)       :class:`TransientDeliveryError`, waiting as the headers say
anything else                                   the default mapping of :func:`~scheduler.adapters.http.send`
==============================================  ============================================================

A rate-limit answer rarely carries ``Retry-After``; the Business Use Case header
(``X-Business-Use-Case-Usage``, Page tokens) may give ``estimated_time_to_regain_access`` in minutes, which
becomes the wait.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from scheduler.adapters.http import ErrorHook, describe_request, error_reason, retry_after
from scheduler.config.credentials import secret_env_var
from scheduler.errors import AuthError, DeliveryError, TransientDeliveryError
from scheduler.lazy import httpx

TOKEN_CODES = frozenset({102, 190})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})


@dataclass(frozen=True, slots=True)
class GraphError:
    """The ``error`` object of a Graph answer."""

    message: str
    code: int | None
    subcode: int | None
    type: str | None


def graph_error(response: httpx.Response) -> GraphError | None:
    """The Graph ``error`` object of ``response``, or ``None`` when its body is not one."""
    try:
        data = response.json()
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    return GraphError(
        message=str(error.get("message") or ""),
        code=_int(error.get("code")),
        subcode=_int(error.get("error_subcode")),
        type=str(error["type"]) if error.get("type") else None,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def business_use_case_wait(headers: httpx.Headers) -> float | None:
    """Seconds until access comes back, from ``X-Business-Use-Case-Usage`` (its value is in minutes)."""
    raw = headers.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access")
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    waits = [float(m) * 60 for m in minutes if isinstance(m, int | float) and not isinstance(m, bool)]
    return max(waits) if waits and max(waits) > 0 else None


def graph_errors(network: str, *, fix: str) -> ErrorHook:
    """The error hook of a Graph adapter; ``fix`` ends an AuthError (what to do about the token)."""

    def hook(response: httpx.Response) -> DeliveryError | None:
        error = graph_error(response)
        if error is None:
            return None
        where = describe_request(network, response.request)
        reason = error_reason(response)
        code = error.code
        if code in TOKEN_CODES or (error.type == "OAuthException" and response.status_code == 401):
            return AuthError(f"{where} rejected the token ({reason}); {fix}")
        if code in PERMISSION_CODES:
            return AuthError(f"{where}: the token lacks a permission ({reason}); {fix}")
        if code in RATE_LIMIT_CODES:
            waits = [
                w
                for w in (
                    retry_after(response.headers, status=429),
                    business_use_case_wait(response.headers),
                )
                if w is not None
            ]
            wait = max(waits) if waits else None
            note = f"; retry in {wait:g} s" if wait is not None else ""
            return TransientDeliveryError(f"{where} is rate limited: {reason}{note}", retry_after=wait)
        return None

    return hook


def require_token(token: str | None, channel: str, fix: str) -> str:
    """``token``, or AuthError: the channel's token is not set, ``fix`` (how to get one), where to set it."""
    if not token:
        raise AuthError(
            f"channels.{channel}.token is not set: {fix} "
            f"({secret_env_var(channel, 'token')}, .env or token_file)"
        )
    return token
