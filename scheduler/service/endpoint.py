"""The service's ``/healthz`` and ``/metrics``: a small Starlette app served by uvicorn on the service's
own event loop (the stack of ``tagcast web``), so HTTP parsing, HEAD, 404 and 405 are a well-tested
server's, not ours::

    endpoint = Endpoint({"/healthz": healthz, "/metrics": metrics})
    bound = await endpoint.start(Address.parse("127.0.0.1:9464"))
    ...
    await endpoint.close()

The handlers stay the service's (:mod:`scheduler.service.health`, the metrics refreshed from the outbox and
redacted on each scrape, which is why prometheus-client's own ASGI app is not used). Off by default; the
address is loopback unless another host is given explicitly (``--http 0.0.0.0:9464``). uvicorn's signal
handling is left out: the service handles its own signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

log = logging.getLogger("tagcast.service")

LOOPBACK = "127.0.0.1"
KEEP_ALIVE = 5
CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Address:
    """Where to listen: ``host`` (loopback unless given) and ``port`` (0: any free port)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Address:
        """``"9464"``, ``":9464"``, ``"127.0.0.1:9464"``, ``"[::1]:9464"`` or ``"0.0.0.0:9464"``; ValueError
        for anything else."""
        value = text.strip()
        host, sep, port_text = value.rpartition(":")
        if not sep:
            host, port_text = "", value
        host = host.strip("[]") or LOOPBACK
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:9464 (PORT from 0 to 65535)")
        return cls(host, int(port_text))

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "::1", "localhost") or self.host.startswith("127.")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[], Awaitable[Response]]


class _ServiceServer(uvicorn.Server):
    """uvicorn without its signal handlers (they would replace the service's own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _route(handler: Handler) -> Callable[[Request], Awaitable[StarletteResponse]]:
    async def endpoint(request: Request) -> StarletteResponse:
        response = await handler()
        return StarletteResponse(
            response.body,
            response.status,
            headers={"Cache-Control": "no-store", **response.headers},
            media_type=response.content_type,
        )

    return endpoint


class Endpoint:
    """Serves ``routes`` (path -> handler; GET and HEAD) on one address until :meth:`close`."""

    def __init__(self, routes: Mapping[str, Handler]) -> None:
        self.routes = dict(routes)
        self._server: _ServiceServer | None = None
        self._task: asyncio.Task[None] | None = None

    def app(self) -> Starlette:
        known = ", ".join(sorted(self.routes))

        async def not_found(request: Request, exc: Exception) -> StarletteResponse:
            return PlainTextResponse(f"not found; try {known}\n", 404)

        return Starlette(
            routes=[Route(path, _route(handler), methods=["GET"]) for path, handler in self.routes.items()],
            exception_handlers={404: not_found},
        )

    async def start(self, address: Address) -> Address:
        """Listen on ``address``; returns the address bound (the real port when 0 was asked). OSError when
        it cannot listen there."""
        family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
        listener = socket.create_server((address.host, address.port), family=family, backlog=128)
        config = uvicorn.Config(
            self.app(),
            lifespan="off",
            access_log=False,
            log_config=None,  # uvicorn's records go to the service's own log handlers
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE,
            timeout_graceful_shutdown=int(CLOSE_TIMEOUT),
        )
        self._server = _ServiceServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[listener]), name="tagcast-http")
        sockname = listener.getsockname()
        return Address(str(sockname[0]), int(sockname[1]))

    async def close(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, CLOSE_TIMEOUT * 2)
        self._server = None
        self._task = None
