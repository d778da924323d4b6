"""A tiny loopback HTTP server for fake social networks, with a request log and scripted faults.

A fake network subclasses :class:`FakeServer`, declares its endpoints with :func:`route`, and keeps its state
in plain attributes (guarded by ``self.lock``, held while a handler runs)::

    class EchoFake(FakeServer):
        name = "echo"

        @route("POST", "/echo/{word}")
        def echo(self, request: Request) -> Reply:
            return Reply.json({"word": request.params["word"], "body": request.fields()})

    with EchoFake().running() as fake:          # ThreadingHTTPServer on 127.0.0.1, a free port
        httpx.post(f"{fake.base_url}/echo/hi", json={"a": 1})
        assert fake.requests[0].json() == {"a": 1}

Every request is recorded (``fake.requests``, with the wall-clock time it arrived) before faults or routes
run. ``fake.faults`` scripts the next requests: 5xx, 429 with a reset, a timeout (the answer comes later than
any client waits), a dropped connection, or "commit then crash" (the handler runs and changes state, then the
connection closes without an answer). A fake overrides :meth:`FakeServer.rate_limited` and
:meth:`FakeServer.server_error` to answer them in its network's own format.

Adapters talk to a fake over real HTTP through httpx; nothing in the project is patched.

Waiting for a request: a test waits on the event itself, not on the wall clock. Every fake notifies
:data:`ACTIVITY` when a request arrives (logged, before faults or routes) and again once it is answered (its
state changed), so ``fake.wait_for(lambda: len(fake.requests) == 2, "the retry")`` wakes when it happens; the
timeout is only a guard against a hang.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import socket
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from fakes.multipart import Part

FaultKind = Literal["error", "rate_limit", "timeout", "drop", "commit_then_drop"]
Handler = Callable[[Any, "Request"], "Reply"]
F = TypeVar("F", bound=Callable[..., Any])

ACTIVITY = threading.Condition()
"""Notified whenever something a test may wait for happens: a request reaches any fake, or is answered
(:meth:`FakeServer.handle`); ``tests/service/processes.py`` also notifies it for each line a child process
writes and for its exit. Waiters re-check their condition on each notification."""


def notify_activity() -> None:
    """Wake every waiter on :data:`ACTIVITY`."""
    with ACTIVITY:
        ACTIVITY.notify_all()


def wait_for_activity(
    condition: Callable[[], bool],
    what: str,
    *,
    timeout: float,
    gone: Callable[[], bool] = lambda: False,
) -> bool:
    """Block until ``condition()`` holds, re-checking it at each :data:`ACTIVITY` notification; False when
    ``gone()`` (the other side can no longer make it true) or after ``timeout`` seconds (a guard against a
    hang, never a measurement)."""
    deadline = time.monotonic() + timeout
    with ACTIVITY:
        while not condition():
            if gone():
                return condition()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ACTIVITY.wait(remaining)
    return True


@contextmanager
def serving(
    handler: type[BaseHTTPRequestHandler],
    *,
    name: str,
    stopping: threading.Event | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 (a free port, over TLS with ``tls``) in a background thread, and give
    its base URL; on the way out set ``stopping`` (ending long answers), then stop and wait for the thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"fake-{name}", daemon=True
    )
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield f"{'https' if tls is not None else 'http'}://{host!s}:{port}"
    finally:
        if stopping is not None:
            stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_url() -> str:
    """``http://127.0.0.1:PORT`` of a loopback port nothing listens on (bound, then released): a request to
    it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Request:
    """One request as the fake received it. Header names are lower case."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    url: str
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def fields(self) -> dict[str, Any]:
        """The body as a flat dict, whether it was sent as JSON or as a form (one value per key)."""
        if self.headers.get("content-type", "").startswith("application/json"):
            data = self.json()
            return data if isinstance(data, dict) else {}
        return {key: values[-1] for key, values in self.form().items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def multipart(self) -> dict[str, Part]:
        """The parts of a ``multipart/form-data`` body by field name (the last one of a repeated name);
        ``{}`` when the body is not multipart. Bytes are kept exactly as sent (an image upload)."""
        from fakes.multipart import BadForm, form_parts  # it reads a Request: imported when used

        try:
            return {part.name: part for part in form_parts(self).parts}
        except BadForm:
            return {}


@dataclass
class Reply:
    """An answer; ``Reply.json(...)`` for the usual case."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls,
        data: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> Reply:
        body = json.dumps(data).encode()
        return cls(status, body, {"Content-Type": content_type, **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8", **(headers or {})})


def route(method: str, pattern: str) -> Callable[[F], F]:
    """Declare a handler method for ``method`` and a path pattern with ``{name}`` placeholders."""

    def mark(func: F) -> F:
        func.__fake_route__ = (method.upper(), pattern)  # type: ignore[attr-defined]
        return func

    return mark


@dataclass
class Fault:
    """One scripted failure for the next ``times`` requests matching ``method`` and ``path`` (a regex)."""

    kind: FaultKind
    times: int = 1
    status: int = 503
    wait: float = 1.0
    method: str | None = None
    path: str | None = None
    after: int = 0
    """Let this many matching requests through first (fail the second part of a thread: ``after=1``)."""

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method.upper():
            return False
        return self.path is None or re.search(self.path, request.path) is not None


class Faults:
    """Scripted failures for a fake; each method queues one. ``path`` is a regex searched in the request path,
    ``method`` must equal the request's, ``after`` lets that many matching requests through first.

    ``wait`` of :meth:`rate_limited` is how long until the announced reset; ``seconds`` of :meth:`timeout` is
    how long the fake sits on the request (longer than the client's timeout; the fake wakes when it stops).
    """

    def __init__(self) -> None:
        self._pending: list[Fault] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def server_error(self, *, status: int = 503, **where: Any) -> None:
        """Answer ``status`` (5xx) in the network's error format."""
        self._add(Fault("error", status=status, **where))

    def rate_limited(self, *, wait: float = 1.0, **where: Any) -> None:
        """Answer 429 announcing a reset ``wait`` seconds ahead (recorded in ``fake.announcements``)."""
        self._add(Fault("rate_limit", wait=wait, **where))

    def timeout(self, *, seconds: float = 30.0, **where: Any) -> None:
        """Sit on the request for ``seconds`` (or until the fake stops), then close without answering."""
        self._add(Fault("timeout", wait=seconds, **where))

    def drop(self, **where: Any) -> None:
        """Close the connection without answering and without handling the request."""
        self._add(Fault("drop", **where))

    def commit_then_drop(self, **where: Any) -> None:
        """Handle the request (the post is stored), then close the connection without answering."""
        self._add(Fault("commit_then_drop", **where))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(f.times for f in self._pending)

    def take(self, request: Request) -> Fault | None:
        with self._lock:
            for fault in self._pending:
                if fault.matches(request):
                    if fault.after > 0:
                        fault.after -= 1
                        continue
                    fault.times -= 1
                    if fault.times <= 0:
                        self._pending.remove(fault)
                    return fault
        return None


@dataclass(frozen=True)
class RateLimitAnnouncement:
    """A 429 the fake sent: when (``at``) and the reset it announced (both Unix seconds)."""

    at: float
    reset: float


class FakeServer:
    """Base of every fake network: routing, request log, faults, and a loopback server to run it on."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults = Faults()
        self.announcements: list[RateLimitAnnouncement] = []
        self.crashes: list[str] = []
        self.lock = threading.RLock()
        self.base_url = ""
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        for attribute in dir(type(self)):
            func = getattr(type(self), attribute)
            spec = getattr(func, "__fake_route__", None)
            if spec is not None:
                method, pattern = spec
                regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
                self._routes.append((method, re.compile(f"{regex}$"), func))

    # --- overridable answers ---------------------------------------------------------------------------

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        """The 429 for a rate-limit fault and the reset it announces (Unix seconds). Default: Retry-After."""
        seconds = max(1, math.ceil(wait))
        reply = Reply.json({"error": "rate limited"}, 429, {"Retry-After": str(seconds)})
        return reply, time.time() + seconds

    def server_error(self, request: Request, status: int) -> Reply:
        return Reply.json({"error": "Internal server error"}, status)

    def not_found(self, request: Request) -> Reply:
        return Reply.json({"error": "Not Found"}, 404)

    def decorate(self, request: Request, reply: Reply) -> Reply:
        """A hook to add headers (rate-limit counters) to every routed answer."""
        return reply

    # --- queries for tests ------------------------------------------------------------------------------

    def wait_for(
        self,
        condition: Callable[[], bool],
        what: str,
        *,
        timeout: float = 60,
        gone: Callable[[], bool] | None = None,
    ) -> None:
        """Block until ``condition()`` holds, woken by each request this (or any) fake receives or answers;
        AssertionError naming ``what`` when ``gone()`` (say, the client process died) or after ``timeout``
        seconds, a guard against a hang."""
        if not wait_for_activity(condition, what, timeout=timeout, gone=gone or (lambda: False)):
            raise AssertionError(f"the {self.name} fake never saw {what} ({len(self.requests)} requests)")

    def requests_to(self, method: str, path: str) -> list[Request]:
        """Logged requests with this method whose path matches the regex ``path``."""
        with self.lock:
            return [r for r in self.requests if r.method == method.upper() and re.search(path, r.path)]

    # --- machinery --------------------------------------------------------------------------------------

    def _route(self, request: Request) -> Reply:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is not None and method == request.method:
                request.params = match.groupdict()
                return self.decorate(request, handler(self, request))
        return self.not_found(request)

    def handle(self, request: Request) -> Reply | None:
        """Log, apply a fault, or route; ``None`` means: close the connection without answering."""
        with self.lock:
            self.requests.append(request)
        notify_activity()
        fault = self.faults.take(request)
        if fault is None:
            return self._locked_route(request)
        if fault.kind == "error":
            return self.server_error(request, fault.status)
        if fault.kind == "rate_limit":
            with self.lock:
                reply, reset = self.rate_limited(request, fault.wait)
                self.announcements.append(RateLimitAnnouncement(time.time(), reset))
            return reply
        if fault.kind == "timeout":
            self.faults.stopping.wait(fault.wait)
            return None
        if fault.kind == "commit_then_drop":
            self._locked_route(request)
        return None

    def _locked_route(self, request: Request) -> Reply:
        with self.lock:
            try:
                return self._route(request)
            except Exception:
                self.crashes.append(traceback.format_exc())
                return Reply.text("the fake crashed; see fake.crashes", 500)

    @contextmanager
    def running(self) -> Iterator[Self]:
        """Serve on 127.0.0.1 (a free port) in a background thread; ``base_url`` is set while running."""
        with serving(_handler_for(self), name=self.name, stopping=self.faults.stopping) as url:
            self.base_url = url
            yield self
        if self.crashes:
            raise AssertionError(f"the {self.name} fake crashed:\n" + "\n".join(self.crashes))


def _handler_for(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                at=time.time(),
                url=f"{fake.base_url}{self.path}",
            )
            try:
                reply = fake.handle(request)
            finally:
                notify_activity()  # answered (or crashed): the fake's state is what the handler left
            self.close_connection = True
            if reply is None:
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler
