"""A post's text cut into plain text, hashtags, links and mentions, found as each network finds them.

The anchors of a card come from the detection the adapters and length rules use, so a preview links exactly
what the network will link. Each adapter class says how
(:attr:`~scheduler.adapters.base.Adapter.text_entities`) and where a hashtag or a mention leads
(``hashtag_url``, ``mention_url``), read through the entry point, so a third-party adapter declares them
too: ``"facets"`` is Bluesky's detection (:func:`scheduler.facets.detect_facets`: tags and links, no
mentions), ``"mastodon"`` URLs with a scheme and ``@user@domain`` mentions (:mod:`scheduler.length.mastodon`),
``"twitter-text"`` twitter-text's URLs, bare domains included (:func:`scheduler.length.urls.find_urls`),
``"links-only"`` URLs with a scheme and nothing else.

>>> [(s.kind, s.text) for s in segments("Read example.com #History", "x")]
[('text', 'Read '), ('link', 'example.com'), ('text', ' '), ('tag', '#History')]
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from scheduler.adapters.base import Adapter
from scheduler.adapters.registry import load_adapter
from scheduler.errors import UnknownNetwork
from scheduler.facets import LINK_FACET, TAG_FACET, detect_facets
from scheduler.hashtags import find_hashtags
from scheduler.length.mastodon import _MENTION
from scheduler.length.urls import MASTODON_URLS, find_urls


def _adapter(network: str) -> type[Adapter]:
    """The adapter class of ``network``, or the defaults of :class:`Adapter` for one not installed (a
    preview of a channel whose package is missing still shows its text)."""
    try:
        return load_adapter(network)
    except UnknownNetwork:
        return Adapter


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of a post's text; ``href`` is set for a tag, link or mention that the network links."""

    kind: str
    text: str
    href: str | None = None


def safe_href(uri: str) -> str | None:
    """``uri`` when it is an http(s) URL, else None (nothing else ever becomes an ``href``)."""
    if urlsplit(uri).scheme.lower() in ("http", "https"):
        return uri
    return None


def _link_href(written: str) -> str | None:
    return safe_href(written if "://" in written else "https://" + written)


def _page(template: str | None, **fields: str) -> str | None:
    """``template`` filled in, when it is one and becomes an http(s) URL."""
    if template is None:
        return None
    try:
        return safe_href(template.format(**fields))
    except (KeyError, IndexError, ValueError):  # a placeholder the template should not have
        return None


def _tag_href(adapter: type[Adapter], tag: str, base_url: str | None) -> str:
    server = (base_url or "").rstrip("/")
    needs_server = "{server}" in (adapter.hashtag_url or "")
    page = None if needs_server and not server else _page(adapter.hashtag_url, tag=quote(tag), server=server)
    return page or f"#tag-{quote(tag.casefold())}"


def _mention_href(adapter: type[Adapter], mention: str, base_url: str | None) -> str | None:
    user, _, domain = mention.lstrip("@").partition("@")
    template = adapter.mention_url
    if template is None or (domain and "{server}" not in template):
        return None
    server = f"https://{domain}" if domain else (base_url or "").rstrip("/")
    if "{server}" in template and not server:
        return None
    return _page(template, user=quote(user), server=server)


def _bluesky_spans(text: str, adapter: type[Adapter]) -> list[tuple[int, int, str, str | None]]:
    """The facets of the Bluesky adapter, turned from UTF-8 byte offsets back into code points."""
    encoded = text.encode("utf-8")
    spans: list[tuple[int, int, str, str | None]] = []
    for facet in detect_facets(text):
        start = len(encoded[: facet["index"]["byteStart"]].decode("utf-8"))
        end = len(encoded[: facet["index"]["byteEnd"]].decode("utf-8"))
        feature = facet["features"][0]
        if feature["$type"] == LINK_FACET:
            spans.append((start, end, "link", safe_href(feature["uri"])))
        elif feature["$type"] == TAG_FACET:
            spans.append((start, end, "tag", _tag_href(adapter, feature["tag"], None)))
    return spans


def _spans(text: str, network: str, base_url: str | None) -> list[tuple[int, int, str, str | None]]:
    adapter = _adapter(network)
    style = adapter.text_entities
    if style == "facets":
        return _bluesky_spans(text, adapter)
    if style in ("mastodon", "links-only"):
        links = find_urls(text, without_protocol=False, grammar=MASTODON_URLS)
    else:
        links = find_urls(text, without_protocol=True)
    spans = [(start, end, "link", _link_href(url)) for start, end, url in links]
    if style != "links-only":
        spans += [(m.start, m.end, "tag", _tag_href(adapter, m.tag, base_url)) for m in find_hashtags(text)]
        if "@" in text:
            spans += [
                (m.start(), m.end(), "mention", _mention_href(adapter, m[0], base_url))
                for m in _MENTION.finditer(text)
            ]
    return spans


def segments(text: str, network: str, base_url: str | None = None) -> list[Segment]:
    """``text`` as consecutive segments (joined, they give ``text`` back); of two overlapping entities the
    first one wins."""
    out: list[Segment] = []
    position = 0
    for start, end, kind, href in sorted(_spans(text, network, base_url), key=lambda span: span[0]):
        if start < position or start >= end:
            continue
        if start > position:
            out.append(Segment("text", text[position:start]))
        out.append(Segment(kind, text[start:end], href) if href else Segment("text", text[start:end]))
        position = end
    if position < len(text):
        out.append(Segment("text", text[position:]))
    return out
