"""A post's text cut into plain text, hashtags, links and mentions, found as each network finds them.

The anchors of a card come from the detection the adapters and length rules use, so a preview links exactly
what the network will link: Bluesky its facets (:func:`scheduler.facets.detect_facets`: tags and links, no
mentions); Mastodon URLs with a scheme and ``@user@domain`` mentions (:mod:`scheduler.length.mastodon`); X and
the others twitter-text's URLs, bare domains included (:func:`scheduler.length.urls.find_urls`).

>>> [(s.kind, s.text) for s in segments("Read example.com #History", "x")]
[('text', 'Read '), ('link', 'example.com'), ('text', ' '), ('tag', '#History')]
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from scheduler.facets import LINK_FACET, TAG_FACET, detect_facets
from scheduler.hashtags import find_hashtags
from scheduler.length.mastodon import _MENTION
from scheduler.length.urls import MASTODON_URLS, find_urls

_TAG_PAGES = {
    "bluesky": "https://bsky.app/hashtag/{tag}",
    "x": "https://x.com/hashtag/{tag}",
    "threads": "https://www.threads.net/search?q=%23{tag}",
    "linkedin": "https://www.linkedin.com/feed/hashtag/{tag}",
    "facebook": "https://www.facebook.com/hashtag/{tag}",
    "telegram": "https://t.me/s/?q=%23{tag}",
}
_PROFILE_PAGES = {
    "x": "https://x.com/{user}",
    "telegram": "https://t.me/{user}",
    "threads": "https://www.threads.net/@{user}",
}
_NO_HASHTAGS = frozenset({"discord", "slack"})
"""Networks that show a ``#word`` as plain text."""


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


def _tag_href(network: str, tag: str, base_url: str | None) -> str:
    if network == "mastodon":
        return f"{(base_url or 'https://mastodon.social').rstrip('/')}/tags/{quote(tag)}"
    page = _TAG_PAGES.get(network)
    return page.format(tag=quote(tag)) if page else f"#tag-{quote(tag.casefold())}"


def _mention_href(network: str, mention: str, base_url: str | None) -> str | None:
    user, _, domain = mention.lstrip("@").partition("@")
    if network == "mastodon":
        home = f"https://{domain}" if domain else (base_url or "https://mastodon.social").rstrip("/")
        return safe_href(f"{home}/@{quote(user)}")
    page = _PROFILE_PAGES.get(network)
    return page.format(user=quote(user)) if page and not domain else None


def _bluesky_spans(text: str) -> list[tuple[int, int, str, str | None]]:
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
            spans.append((start, end, "tag", _tag_href("bluesky", feature["tag"], None)))
    return spans


def _spans(text: str, network: str, base_url: str | None) -> list[tuple[int, int, str, str | None]]:
    if network == "bluesky":
        return _bluesky_spans(text)
    if network in ("mastodon", "discord", "slack"):
        links = find_urls(text, without_protocol=False, grammar=MASTODON_URLS)
    else:
        links = find_urls(text, without_protocol=True)
    spans = [(start, end, "link", _link_href(url)) for start, end, url in links]
    if network not in _NO_HASHTAGS:
        spans += [(m.start, m.end, "tag", _tag_href(network, m.tag, base_url)) for m in find_hashtags(text)]
        if "@" in text:
            spans += [
                (m.start(), m.end(), "mention", _mention_href(network, m[0], base_url))
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
