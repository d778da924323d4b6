"""What keeps the dashboard to its user: the host check, the access token, and cross-site request checks.

- Bound to loopback, only requests naming a loopback host are served (a page of another site cannot reach
  the dashboard by pointing a DNS name at 127.0.0.1).
- With a token (required off loopback), every request brings it: ``Authorization: Bearer``, or the cookie
  set when a page was opened once with ``?token=...`` (the token is then removed from the address).
- Every POST carries the page's CSRF token, and a browser's ``Sec-Fetch-Site`` and ``Origin`` must say it
  came from the dashboard itself.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.web.render import content_security_policy

TOKEN_COOKIE = "tagcast_token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def host_of(header: str) -> str:
    """The host name of a ``Host`` header (``[::1]:8464`` -> ``::1``), lower-case; empty when unreadable."""
    try:
        return (urlsplit("//" + header).hostname or "").lower()
    except ValueError:
        return ""


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def cross_site_problem(request: Request, csrf_expected: str, csrf_given: str | None) -> str | None:
    """Why a state-changing request must be refused, or None when it comes from the dashboard's own page."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return f"this request came from another site (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is not None:
        expected = f"{request.url.scheme}://{request.headers.get('host', '')}"
        if origin.lower() != expected.lower():
            return f"this request came from another origin ({origin})"
    if not same(csrf_given, csrf_expected):
        return "the form's CSRF token is missing or out of date: reload the page and try again"
    return None


class Guard:
    """ASGI middleware: host check, token check, and security headers on every response."""

    def __init__(self, app: ASGIApp, *, token: str | None, loopback_only: bool) -> None:
        self.app = app
        self.token = token
        self.loopback_only = loopback_only
        self.policy = content_security_policy(forms=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("content-security-policy", self.policy)
                headers["x-content-type-options"] = "nosniff"
                headers["referrer-policy"] = (
                    "same-origin"  # "no-referrer" would make a form post say Origin: null
                )
                headers["x-frame-options"] = "DENY"
                headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, request: Request) -> Response | None:
        if self.loopback_only and host_of(request.headers.get("host", "")) not in LOOPBACK_HOSTS:
            return Response("tagcast web answers only to 127.0.0.1 and localhost\n", 421)
        if self.token is None:
            return None
        given = request.query_params.get("token")
        if given is not None and same(given, self.token):
            rest = [(key, value) for key, value in request.query_params.multi_items() if key != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                TOKEN_COOKIE,
                self.token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        bearer = request.headers.get("authorization", "")
        if same(request.cookies.get(TOKEN_COOKIE), self.token) or (
            bearer.startswith("Bearer ") and same(bearer[7:], self.token)
        ):
            return None
        return Response(
            "tagcast web needs its token: open this address once with ?token=... added "
            "(the token given with --token or TAGCAST_WEB_TOKEN)\n",
            401,
            media_type="text/plain",
        )
