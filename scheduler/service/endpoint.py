"""A minimal HTTP/1.1 server on the service's own event loop, for ``/healthz`` and ``/metrics`` only.

``asyncio.start_server`` and a dozen lines of parsing: GET and HEAD, one request per connection
(``Connection: close``), a short read timeout, no request body. Enough for Prometheus, a load balancer or
``curl -fsS``, and no web framework to depend on::

    endpoint = Endpoint({"/healthz": healthz, "/metrics": metrics})
    bound = await endpoint.start(Address.parse("127.0.0.1:9464"))
    ...
    await endpoint.close()

Off by default; the address is loopback unless another host is given explicitly (``--http 0.0.0.0:9464``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus

log = logging.getLogger("tagcast.service")

LOOPBACK = "127.0.0.1"
READ_TIMEOUT = 5.0
MAX_HEAD = 16 * 1024


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


class Endpoint:
    """Serves ``routes`` (path -> handler) on one address until :meth:`close`."""

    def __init__(self, routes: Mapping[str, Handler]) -> None:
        self.routes = dict(routes)
        self._server: asyncio.Server | None = None

    async def start(self, address: Address) -> Address:
        """Listen on ``address``; returns the address bound (the real port when 0 was asked)."""
        self._server = await asyncio.start_server(self._serve, address.host, address.port, limit=MAX_HEAD)
        sockname = self._server.sockets[0].getsockname()
        return Address(str(sockname[0]), int(sockname[1]))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response, head_only = await self._respond(reader)
            await self._write(writer, response, head_only=head_only)
        except Exception:  # a broken client must never disturb the service
            log.debug("http: a request failed", exc_info=True)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            return Response(400, b"bad request\n"), False
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return Response(400, b"bad request\n"), False
        method, target = parts[0], parts[1]
        path = target.split("?", 1)[0]
        handler = self.routes.get(path)
        if handler is None:
            known = ", ".join(sorted(self.routes))
            return Response(404, f"not found; try {known}\n".encode()), method == "HEAD"
        if method not in ("GET", "HEAD"):
            return Response(405, b"method not allowed\n", headers={"Allow": "GET, HEAD"}), False
        return await handler(), method == "HEAD"

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
        reason = HTTPStatus(response.status).phrase
        headers = {
            "Content-Type": response.content_type,
            "Content-Length": str(len(response.body)),
            "Cache-Control": "no-store",
            "Connection": "close",
            **response.headers,
        }
        head = f"HTTP/1.1 {response.status} {reason}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        writer.write(head.encode("latin-1") + (b"" if head_only else response.body))
        await writer.drain()
