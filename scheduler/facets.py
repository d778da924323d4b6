"""Bluesky rich-text facets: where hashtags and links are in a post, in UTF-8 byte offsets.

The PDS does not check facet offsets (docs/networks.md, Bluesky: facets), so they must be right here:
``byteStart`` is inclusive, ``byteEnd`` exclusive, both on character boundaries, facets sorted and never
overlapping. Hashtags follow the Bluesky app's ``TAG_REGEX`` (:func:`scheduler.hashtags.find_hashtags`), links
its ``URL_REGEX`` (:func:`scheduler.length.links.find_bluesky_links`). Mentions are not detected: they need a
DID lookup.

>>> detect_facets("#python at example.com")
... # doctest: +NORMALIZE_WHITESPACE
[{'index': {'byteStart': 0, 'byteEnd': 7},
  'features': [{'$type': 'app.bsky.richtext.facet#tag', 'tag': 'python'}]},
 {'index': {'byteStart': 11, 'byteEnd': 22},
  'features': [{'$type': 'app.bsky.richtext.facet#link', 'uri': 'https://example.com'}]}]
"""

from __future__ import annotations

from typing import Any

from scheduler.hashtags import find_hashtags
from scheduler.length.graphemes import grapheme_count, utf8_length
from scheduler.length.links import find_bluesky_links

TAG_FACET = "app.bsky.richtext.facet#tag"
LINK_FACET = "app.bsky.richtext.facet#link"
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640


def detect_facets(text: str) -> list[dict[str, Any]]:
    """The ``app.bsky.richtext.facet`` objects of every hashtag and link in ``text``, by ``byteStart``."""
    spans: list[tuple[int, int, dict[str, str]]] = [
        (start, end, {"$type": LINK_FACET, "uri": uri}) for start, end, uri in find_bluesky_links(text)
    ]
    spans += [
        (tag.start, tag.end, {"$type": TAG_FACET, "tag": tag.tag})
        for tag in find_hashtags(text)
        if grapheme_count(tag.tag) <= MAX_TAG_GRAPHEMES and utf8_length(tag.tag) <= MAX_TAG_BYTES
    ]
    facets: list[dict[str, Any]] = []
    covered_to = 0
    for start, end, feature in sorted(spans, key=lambda span: span[0]):
        if start < covered_to or start >= end:
            continue
        covered_to = end
        index = {"byteStart": utf8_length(text[:start]), "byteEnd": utf8_length(text[:end])}
        facets.append({"index": index, "features": [feature]})
    return facets
