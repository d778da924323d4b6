"""Hostile servers on loopback: answers that try to hang, flood or crash the client.

- :class:`ScriptedWebhook`: a webhook receiver (:class:`~fakes.webhook.WebhookFake`) whose next answers can be
  scripted with any status, headers and body: a 429 with ``Retry-After: 1e12``, a 400 whose JSON is nested
  200 000 deep, an error page echoing the token;
- :class:`TrickleServer`: answers ``200`` and then one byte of body every ``interval`` seconds, forever (until
  the client goes away or the server stops), or trickles its headers the same way;
- :class:`HugeServer`: answers ``200`` with a body of ``size`` bytes (50 MB by default), generated as it is
  sent, and counts how many bytes it managed to write before the client hung up;
- :class:`EchoingMastodon`: repeats the access token it was sent in its answers, verbatim, in another case,
  base64-encoded, URL-encoded, or inside a text long enough to be cut.

Each records what it received (``requests`` / ``connections``), so a test asserts on the client's behaviour
as the server saw it, not on time.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal, Self
from urllib.parse import quote

from fakes.server import FakeServer, Reply, Request, route, serving
from fakes.webhook import WebhookFake

PATH = "/hooks/tagcast"


def deep_json(depth: int = 200_000) -> bytes:
    """``[[[...]]]`` nested ``depth`` levels: valid JSON that ``json.loads`` cannot read (RecursionError)."""
    return b"[" * depth + b"]" * depth


class ScriptedWebhook(WebhookFake):
    """A webhook receiver whose next requests get scripted answers (:meth:`script`) before the normal ones."""

    name = "scripted-webhook"

    def __init__(self, secret: str | None = None) -> None:
        super().__init__(secret=secret)
        self._script: list[Reply] = []

    def script(self, reply: Reply, *, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``reply`` (in the order scripted)."""
        with self.lock:
            self._script.extend([reply] * times)

    def handle(self, request: Request) -> Reply | None:
        with self.lock:
            if self._script:
                self.requests.append(request)
                return self._script.pop(0)
        return super().handle(request)


class _RawServer:
    """A loopback HTTP/1.1 server whose handler writes the answer itself; ``stopping`` ends long answers."""

    name = "raw"

    def __init__(self) -> None:
        self.base_url = ""
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[str] = []
        """``"METHOD /path"`` of each request received."""
        self.finished: list[str] = []
        """How each answer ended: ``"client closed"`` or ``"server stopped"`` or ``"complete"``."""

    @property
    def url(self) -> str:
        return f"{self.base_url}{PATH}"

    def answer(self, handler: BaseHTTPRequestHandler) -> str:
        raise NotImplementedError

    @contextmanager
    def running(self) -> Iterator[Self]:
        with serving(_raw_handler(self), name=self.name, stopping=self.stopping) as url:
            self.base_url = url
            yield self


def _raw_handler(fake: _RawServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            with fake.lock:
                fake.requests.append(f"{self.command} {self.path}")
            self.close_connection = True
            try:
                ended = fake.answer(self)
            except OSError:
                ended = "client closed"
            with fake.lock:
                fake.finished.append(ended)
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler


class TrickleServer(_RawServer):
    """Sends one byte every ``interval`` seconds, forever: of the body after ``200`` and complete headers
    (``phase="body"``), or of the status line and headers themselves (``phase="headers"``)."""

    name = "trickle"

    def __init__(self, *, interval: float = 0.2, phase: Literal["body", "headers"] = "body") -> None:
        super().__init__()
        self.interval = interval
        self.phase = phase
        self.bytes_sent = 0

    def answer(self, handler: BaseHTTPRequestHandler) -> str:
        out = handler.wfile
        if self.phase == "body":
            out.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            out.flush()
        drip = (
            b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000_000
            if self.phase == "headers"
            else b" " * 10_000_000
        )
        for byte in drip:
            if self.stopping.wait(self.interval):
                return "server stopped"
            out.write(bytes([byte]))
            out.flush()
            with self.lock:
                self.bytes_sent += 1
        return "complete"


class HugeServer(_RawServer):
    """Answers ``status`` with a body of ``size`` bytes, made up as it is written (nothing held in memory),
    with or without ``Content-Length``; ``bytes_sent`` counts the body bytes the client took."""

    name = "huge"

    def __init__(
        self, *, size: int = 50 * 1024 * 1024, status: int = 200, declare_length: bool = True
    ) -> None:
        super().__init__()
        self.size = size
        self.status = status
        self.declare_length = declare_length
        self.bytes_sent = 0

    def answer(self, handler: BaseHTTPRequestHandler) -> str:
        out = handler.wfile
        head = f"HTTP/1.1 {self.status} Whatever\r\nContent-Type: application/json\r\n"
        if self.declare_length:
            head += f"Content-Length: {self.size}\r\n"
        out.write((head + "Connection: close\r\n\r\n").encode())
        chunk = b'{"pad": "' + b"x" * 65_000 + b'"}\n'
        left = self.size
        while left > 0:
            if self.stopping.is_set():
                return "server stopped"
            piece = chunk[: min(left, len(chunk))]
            out.write(piece)
            left -= len(piece)
            with self.lock:
                self.bytes_sent += len(piece)
        out.flush()
        return "complete"


EchoForm = Literal["verbatim", "upper", "lower", "base64", "base64url", "basic", "urlencoded", "long"]
ECHO_FORMS: tuple[EchoForm, ...] = (
    "verbatim",
    "upper",
    "lower",
    "base64",
    "base64url",
    "basic",
    "urlencoded",
    "long",
)


def echo(token: str, form: EchoForm) -> str:
    """``token`` the way a careless server repeats it back."""
    raw = token.encode()
    if form == "upper":
        return token.upper()
    if form == "lower":
        return token.lower()
    if form == "base64":
        return base64.b64encode(raw).decode()
    if form == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if form == "basic":
        return "Basic " + base64.b64encode(b"tagcast:" + raw).decode()
    if form == "urlencoded":
        return quote(token, safe="")
    if form == "long":  # in a refused status, the token straddles the 300-character cut of the reason
        return "x" * 252 + " Bearer " + token + " " + "y" * 500
    return token


class EchoingMastodon(FakeServer):
    """A Mastodon-like server that repeats the access token it was sent (``Authorization: Bearer ...``) in
    the form :attr:`form`: in the account name and URL of ``verify_credentials``, in the 500 of
    ``/api/v2/instance`` and in the 422 refusing every new status."""

    name = "echoing-mastodon"

    def __init__(self, form: EchoForm = "verbatim") -> None:
        super().__init__()
        self.form: EchoForm = form

    def _echo(self, request: Request) -> str:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return echo(token, self.form)

    @route("GET", "/api/v1/accounts/verify_credentials")
    def me(self, request: Request) -> Reply:
        said = self._echo(request)
        return Reply.json({"id": "1", "acct": said, "url": f"https://social.example/@{quote(said)}"})

    @route("GET", "/api/v2/instance")
    def instance(self, request: Request) -> Reply:
        return Reply.text(f"proxy error for request with {self._echo(request)}", 500)

    @route("POST", "/api/v1/statuses")
    def post(self, request: Request) -> Reply:
        return Reply.json({"error": f"Validation failed: token {self._echo(request)} is not allowed"}, 422)
