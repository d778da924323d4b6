"""A fake web site for link cards: pages with OpenGraph tags, Twitter tags only, no tags, broken HTML, a
404, a page that never answers, a 5 MB page, a redirect, and the images its tags point at.

    with PagesFake().running() as site:
        site.url("/og")             # http://127.0.0.1:PORT/og
        site.hits("/og")            # how many times it was fetched
"""

from __future__ import annotations

import io

from fakes.server import FakeServer, Reply, Request

HTML = "text/html; charset=utf-8"

OG_PAGE = """<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Fallback title</title>
<meta property="og:title" content="  The   Battle of
  Khalkhin Gol &amp; its aftermath ">
<meta property="og:description"
  content="How the 1939 battle &#8211; fought on the Mongolian steppe &ndash; shaped the war.">
<meta property="og:image" content="/img/thumb.png">
<meta name="twitter:title" content="Twitter title that loses">
</head><body><p>Body</p></body></html>
"""

TWITTER_PAGE = """<html><head>
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="Only Twitter tags here">
<meta name="twitter:description" content="A page that speaks only to Twitter.">
<meta name="twitter:image" content="https://cdn.example.org/pic.jpg">
</head><body></body></html>
"""

PLAIN_PAGE = """<html><head><title>
   A page without meta tags
</title></head><body><p>Nothing else.</p></body></html>
"""

BROKEN_PAGE = """<html><head><meta property=og:title content="Broken & readable">
<meta property="og:description" content='Tags <b>left</i> open'>
<div></span><p>unclosed <img src=x.png>
<meta property="og:image" content="pics/a b.png">
"""

LATIN1_PAGE = (
    "<html><head><meta charset=iso-8859-1>"
    '<meta property="og:description" content="Grüße aus Köln"></head></html>'
).encode("latin-1")


def png_bytes(width: int = 8, height: int = 6) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


class PagesFake(FakeServer):
    """The site; ``pages`` maps a path to its answer (tests may add their own)."""

    name = "pages"

    def __init__(self) -> None:
        super().__init__()
        self.pages: dict[str, Reply] = {
            "/og": Reply(200, OG_PAGE.encode(), {"Content-Type": HTML}),
            "/twitter": Reply(200, TWITTER_PAGE.encode(), {"Content-Type": HTML}),
            "/plain": Reply(200, PLAIN_PAGE.encode(), {"Content-Type": HTML}),
            "/broken": Reply(200, BROKEN_PAGE.encode(), {"Content-Type": HTML}),
            "/latin1": Reply(200, LATIN1_PAGE, {"Content-Type": "text/html"}),
            "/empty": Reply(200, b"", {"Content-Type": HTML}),
            "/missing": Reply(404, b"<html><body>Not here</body></html>", {"Content-Type": HTML}),
            "/huge": Reply(
                200, b"<html><head>" + b" " * 5_000_000 + b"</head></html>", {"Content-Type": HTML}
            ),
            "/pdf": Reply(200, b"%PDF-1.4", {"Content-Type": "application/pdf"}),
            "/moved": Reply(301, b"", {"Location": "/og"}),
            "/img/thumb.png": Reply(200, png_bytes(), {"Content-Type": "image/png"}),
        }

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for request in self.requests if request.path == path)

    def not_found(self, request: Request) -> Reply:
        """Every path is looked up in ``pages`` (the fake has no routes of its own)."""
        reply = self.pages.get(request.path)
        if reply is None or request.method != "GET":
            return Reply(404, b"no such page", {"Content-Type": "text/plain"})
        return reply
