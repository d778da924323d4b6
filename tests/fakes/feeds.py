"""Feeds for tests and benchmarks: one list of entries written as RSS 2.0, RSS 1.0/RDF, Atom 1.0 or JSON Feed
1.1, and a loopback HTTP server that serves a feed the test changes between polls.

    >>> server = FeedServer()                                   # doctest: +SKIP
    >>> server.feed = rss2([FeedEntry("a1", "Title", ...)])     # doctest: +SKIP
    >>> server.url("/history.xml")                              # doctest: +SKIP
    'http://127.0.0.1:PORT/history.xml'

The server answers 304 to a matching ``If-None-Match`` or ``If-Modified-Since``, and can be told to answer
the next requests with a status, slowly (it waits on an event the test sets, never on the clock), with a
huge body, or with a broken body. Every request it received is kept in ``requests``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

Kind = str  # "rss2" | "rss1" | "atom" | "jsonfeed"


@dataclass(frozen=True)
class FeedEntry:
    """One item of a generated feed; ``title``, ``summary`` and ``content`` are HTML. An empty ``summary`` is
    left out (no ``description``/``summary``); a ``content`` is written as ``content:encoded`` (RSS),
    ``content`` (Atom) or ``content_html`` (JSON Feed, where the summary is then the ``summary``). The title
    is ``type="html"`` in Atom; in JSON Feed, where a title and a summary are plain text, they are written
    as their text (tags left out, references decoded)."""

    guid: str
    title: str
    link: str
    summary: str
    categories: Sequence[str] = ()
    image: str | None = None
    updated: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    content: str = ""


_CONTENT_NS = ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'


def _content_ns(entries: Sequence[FeedEntry]) -> str:
    return _CONTENT_NS if any(entry.content for entry in entries) else ""


def _rss_text(entry: FeedEntry) -> str:
    """An RSS item's ``description`` and ``content:encoded``, each only when the entry has it."""
    text = f"<description>{escape(entry.summary)}</description>" if entry.summary else ""
    return text + (f"<content:encoded>{escape(entry.content)}</content:encoded>" if entry.content else "")


def rss2(entries: Sequence[FeedEntry], *, title: str = "History shorts") -> bytes:
    items = []
    for entry in entries:
        cats = "".join(f"<category>{escape(name)}</category>" for name in entry.categories)
        media = (
            f'<enclosure url="{escape(entry.image)}" type="image/jpeg" length="1000"/>' if entry.image else ""
        )
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>{escape(entry.link)}</link>"
            f'<guid isPermaLink="false">{escape(entry.guid)}</guid>'
            f"<pubDate>{format_datetime(entry.updated)}</pubDate>"
            f"{_rss_text(entry)}{cats}{media}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        f'xmlns:media="http://search.yahoo.com/mrss/"{_content_ns(entries)}><channel>'
        f"<title>{escape(title)}</title><link>https://history.example/</link><description>d</description>"
        + "\n".join(items)
        + "</channel></rss>\n"
    ).encode()


def rss1(entries: Sequence[FeedEntry], *, title: str = "History shorts") -> bytes:
    seq = "".join(f'<rdf:li rdf:resource="{escape(entry.link)}"/>' for entry in entries)
    items = []
    for entry in entries:
        subjects = "".join(f"<dc:subject>{escape(name)}</dc:subject>" for name in entry.categories)
        items.append(
            f'<item rdf:about="{escape(entry.guid)}"><title>{escape(entry.title)}</title>'
            f"<link>{escape(entry.link)}</link>{_rss_text(entry)}"
            f"<dc:date>{entry.updated.isoformat()}</dc:date>{subjects}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        f'xmlns:dc="http://purl.org/dc/elements/1.1/"{_content_ns(entries)}>'
        f'<channel rdf:about="https://history.example/"><title>{escape(title)}</title>'
        f"<link>https://history.example/</link><description>d</description>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>" + "\n".join(items) + "</rdf:RDF>\n"
    ).encode()


def atom(entries: Sequence[FeedEntry], *, title: str = "History shorts") -> bytes:
    items = []
    for entry in entries:
        cats = "".join(f'<category term="{escape(name)}"/>' for name in entry.categories)
        media = f'<media:content url="{escape(entry.image)}" medium="image"/>' if entry.image else ""
        items.append(
            f'<entry><id>{escape(entry.guid)}</id><title type="html">{escape(entry.title)}</title>'
            f'<link rel="alternate" href="{escape(entry.link)}"/>'
            f"<updated>{entry.updated.isoformat()}</updated>"
            + (f'<summary type="html">{escape(entry.summary)}</summary>' if entry.summary else "")
            + (f'<content type="html">{escape(entry.content)}</content>' if entry.content else "")
            + f"{cats}{media}</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:media="http://search.yahoo.com/mrss/">'
        f"<title>{escape(title)}</title><id>urn:history</id><updated>2026-12-01T09:00:00Z</updated>"
        + "\n".join(items)
        + "</feed>\n"
    ).encode()


def _text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def jsonfeed(entries: Sequence[FeedEntry], *, title: str = "History shorts") -> bytes:
    items = [
        {
            "id": entry.guid,
            "url": entry.link,
            "title": _text_of(entry.title),
            "content_html": entry.content or entry.summary,
            **({"summary": _text_of(entry.summary)} if entry.content and entry.summary else {}),
            "date_modified": entry.updated.isoformat(),
            "tags": list(entry.categories),
            **({"image": entry.image} if entry.image else {}),
        }
        for entry in entries
    ]
    document = {"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}
    return json.dumps(document, ensure_ascii=False, indent=1).encode()


WRITERS = {"rss2": rss2, "rss1": rss1, "atom": atom, "jsonfeed": jsonfeed}


@dataclass
class Served:
    """What the server answers: ``body`` with its ETag and Last-Modified, or a scripted failure."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    last_modified: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    etag_enabled: bool = True


@dataclass
class Request:
    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    """A loopback HTTP server with one feed; set ``served`` (or call :meth:`publish`) between polls.

    ``stall`` makes every request wait until ``release`` is set (a response beyond the client's deadline);
    ``huge`` streams that many bytes of a never-ending item instead of the feed.
    """

    served: Served = field(default_factory=Served)
    requests: list[Request] = field(default_factory=list)
    stall: bool = False
    huge: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
                owner._answer(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str = "/feed.xml") -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def publish(self, body: bytes, *, when: datetime | None = None) -> None:
        self.served = Served(body=body, last_modified=when or self.served.last_modified)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.served.body).hexdigest()[:16] + '"'

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        served = self.served
        if self.stall:
            self.release.wait(30)
            return
        if served.status != 200:
            body = b"server error"
            handler.send_response(served.status)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return
        if self.huge:
            self._stream_huge(handler)
            return
        modified = format_datetime(served.last_modified, usegmt=True)
        if served.etag_enabled and handler.headers.get("If-None-Match") == self.etag:
            handler.send_response(304)
            handler.send_header("ETag", self.etag)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", served.content_type)
        handler.send_header("Content-Length", str(len(served.body)))
        if served.etag_enabled:
            handler.send_header("ETag", self.etag)
        handler.send_header("Last-Modified", modified)
        handler.end_headers()
        handler.wfile.write(served.body)

    def _stream_huge(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"
        sent = 0
        try:
            while sent < self.huge:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return
