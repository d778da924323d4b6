"""A loopback HTTPS server that serves image files, with its own certificate authority, for tests of
downloads (only https images are downloaded, so the fake speaks real TLS).

    with ImageServer(tmp_path).running() as server:      # doctest: +SKIP
        server.files["/photo.jpg"] = jpeg_bytes
        server.url("/photo.jpg")                          # 'https://127.0.0.1:PORT/photo.jpg'
        server.ca_file                                    # the CA to trust: SSL_CERT_FILE, or verify=

The CA and the server certificate (for IP 127.0.0.1, and for images.test: a name a test resolver maps to
it) are made with the ``openssl`` command. The server can answer with a status (``statuses``) or a
redirect (``redirects``). Every request's path is kept in ``requests``.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from fakes.server import serving


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, server.pem, server.key): a throwaway CA and a certificate for 127.0.0.1 signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = folder / "ext.cnf"
    ext.write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:images.test\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = [
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2", "-subj",
         "/CN=tagcast test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ]  # fmt: skip
    for command in run:
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    return ca, cert, key


class ImageServer:
    """Serves ``files`` (path -> bytes) over HTTPS on 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.ca_file, self._cert, self._key = make_certificates(folder)
        self.files: dict[str, bytes] = {}
        self.statuses: dict[str, int] = {}
        self.redirects: dict[str, str] = {}
        self.requests: list[str] = []
        self.base_url = ""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    @contextmanager
    def running(self) -> Iterator[ImageServer]:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert, self._key)
        with serving(_handler(self), name="images", tls=context) as url:
            self.base_url = url
            yield self


def _handler(fake: ImageServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            fake.requests.append(self.path)
            self.close_connection = True
            if self.path in fake.redirects:
                self.send_response(302)
                self.send_header("Location", fake.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = fake.statuses.get(self.path, 200 if self.path in fake.files else 404)
            body = fake.files.get(self.path, b"") if status == 200 else b"no"
            self.send_response(status)
            self.send_header("Content-Type", "image/jpeg" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError, ssl.SSLError):
                self.wfile.write(body)  # the client may give up first (a body over its size cap)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
