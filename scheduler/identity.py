"""What makes an article the same article, whatever its file is called.

An article's identity, in this order:

1. its own ``id`` key (front matter or JSON): ``id:<the id>``;
2. else its ``url``, made canonical (scheme and host in lower case, no default port, no ``#fragment``, no
   trailing ``/``): ``url:https://example.org/a``;
3. else a fingerprint of its title and body (Unicode NFC, runs of white space as one space):
   ``sha256:<hex>``.

The outbox keys deliveries by (identity, channel), so renaming a file moves its delivery, and a second
file with the same identity is a copy (a warning, never a second post). An edit keeps the identity when the
article has an ``id`` or a ``url``; an article with neither is told apart by its text only, so renaming *and*
editing it at once makes it a new article. ``docs/articles.md`` explains it for users.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from scheduler.models import Article

_SPACE = re.compile(r"\s+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """``url`` with its scheme and host in lower case, no default port, fragment or trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def _normal(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fingerprint(title: str, body: str) -> str:
    """sha256 of the title and body, with white space and Unicode composition evened out."""
    data = f"{_normal(title)}\n{_normal(body)}".encode()
    return hashlib.sha256(data).hexdigest()


def article_identity(article: Article) -> str:
    """The identity of ``article``: ``id:...``, ``url:...`` or ``sha256:...`` (see the module docstring)."""
    if article.id:
        return f"id:{article.id.strip()}"
    if article.url:
        return f"url:{canonical_url(article.url)}"
    return f"sha256:{fingerprint(article.title, article.body)}"


def describe(identity: str) -> str:
    """How a person reads an identity: ``id 'x'``, ``url https://...`` or ``the same title and text``."""
    kind, _, value = identity.partition(":")
    if kind == "id":
        return f"id {value!r}"
    if kind == "url":
        return f"url {value}"
    return "the same title and text"


@dataclass(frozen=True)
class Copy:
    """``copy`` has the same identity as ``original`` (which comes first by source)."""

    copy: Article
    original: Article
    identity: str

    def warning(self) -> str:
        return (
            f"{self.copy.source} is a copy of {self.original.source} ({describe(self.identity)}): it is not "
            f"posted a second time; give it its own `id:` if it is another article, or use "
            f"`tagcast queue add --repost {self.copy.source}` to post it again on purpose"
        )


def find_copies(articles: Iterable[Article]) -> list[Copy]:
    """Articles that share an identity with an earlier one (by source), each with the one it copies."""
    first: dict[str, Article] = {}
    copies: list[Copy] = []
    for article in sorted({a.source: a for a in articles}.values(), key=lambda a: a.source):
        identity = article_identity(article)
        if identity in first:
            copies.append(Copy(article, first[identity], identity))
        else:
            first[identity] = article
    return copies
