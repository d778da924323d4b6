"""The filters tagcast adds to templates, besides Jinja2's built-in ones.

``hashtags``, ``camel``, the escapes and the text cutters ``sentences`` and ``truncate_words``
(:mod:`scheduler.render.cutting`). Every filter takes ``None`` as an empty text.

LinkedIn needs no filter: its adapter escapes the little-text reserved characters
(``\\ | { } @ [ ] ( ) < > # * _ ~``) and turns ``#Tag`` into ``{hashtag|\\#|Tag}`` when it sends the post.
A LinkedIn template writes plain text with ordinary ``#Tag`` hashtags, so that it is measured and previewed
as the reader will see it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import regex

from scheduler.hashtags import find_hashtags, strip_hash
from scheduler.models import Hashtag
from scheduler.render.cutting import sentences, truncate_words

_APOSTROPHE_IN_WORD = regex.compile(r"(?<=\w)['’](?=\w)")
_WORD = regex.compile(r"[\p{L}\p{M}\p{N}]+")

_MARKDOWN_V2_RESERVED = {
    None: "\\_*[]()~`>#+-=|{}.!",
    "code": "\\`",
    "pre": "\\`",
    "link": "\\)",
}


def hashtags(
    tags: Iterable[Hashtag | str] | None,
    limit: int | None = None,
    skip_in: str | None = None,
    sep: str = " ",
) -> str:
    """The tags written as hashtags: the first ``limit`` of those not already a hashtag in ``skip_in``.

    Tags are compared case-insensitively (``#khalkhingol`` in the body skips ``KhalkhinGol``), a tag given
    twice is written once, and ``limit=None`` keeps them all. Plain strings work as well as
    :class:`~scheduler.models.Hashtag` values, with or without their ``#``::

        {{ tags | hashtags }}                       -> #KhalkhinGol #Stalin #MilitaryHistory
        {{ tags | hashtags(2, skip_in=body) }}      -> #KhalkhinGol #MilitaryHistory   (body has #Stalin)
        {{ tags | hashtags(sep="\\n") }}             -> one per line
    """
    if tags is None or (limit is not None and limit <= 0):
        return ""
    seen = {match.tag.casefold() for match in find_hashtags(skip_in or "")}
    written: list[str] = []
    for tag in tags:
        text = tag.text if isinstance(tag, Hashtag) else strip_hash(str(tag))
        key = text.casefold()
        if not text or key in seen:
            continue
        seen.add(key)
        written.append(f"#{text}")
        if limit is not None and len(written) == limit:
            break
    return sep.join(written)


def camel(text: str | None) -> str:
    """Words joined into one CamelCase hashtag body; apostrophes inside words are dropped.

    ::

        {{ "Khalkhin Gol" | camel }}                -> KhalkhinGol
        {{ "Stalin's role, 1939" | camel }}         -> StalinsRole1939
        {{ "#" ~ (title | camel) }}                 -> a hashtag made of the title
    """
    words = _WORD.findall(_APOSTROPHE_IN_WORD.sub("", text or ""))
    return "".join(word[:1].upper() + word[1:] for word in words)


def escape_markdown_v2(text: str | None, entity: str | None = None) -> str:
    """Escape ``text`` for a Telegram message sent with ``parse_mode=MarkdownV2``.

    Outside entities every one of ``\\ _ * [ ] ( ) ~ ` > # + - = | { } . !`` gets a backslash; inside
    ``entity="code"`` or ``"pre"`` only the backtick and the backslash; inside the URL of a link
    (``entity="link"``) only ``)`` and the backslash::

        *{{ title | escape_markdown_v2 }}*
        [read more]({{ url | escape_markdown_v2("link") }})
    """
    try:
        reserved = _MARKDOWN_V2_RESERVED[entity]
    except KeyError:
        known = ", ".join(repr(name) for name in _MARKDOWN_V2_RESERVED if name)
        raise ValueError(f"escape_markdown_v2: unknown entity {entity!r}; use {known} or none") from None
    return "".join(f"\\{char}" if char in reserved else char for char in text or "")


def escape_html(text: str | None) -> str:
    """Escape ``& < >`` for a Telegram message sent with ``parse_mode=HTML``::

    <b>{{ title | escape_html }}</b>
    """
    return html.escape(text or "", quote=False)


def escape_mrkdwn(text: str | None) -> str:
    """Escape ``& < >`` as Slack's mrkdwn requires; write its ``<url|label>`` links around the escapes::

    *{{ title | escape_mrkdwn }}*
    """
    return html.escape(text or "", quote=False)


FILTERS: Mapping[str, Callable[..., Any]] = {
    "hashtags": hashtags,
    "sentences": sentences,
    "truncate_words": truncate_words,
    "camel": camel,
    "escape_markdown_v2": escape_markdown_v2,
    "escape_html": escape_html,
    "escape_mrkdwn": escape_mrkdwn,
}
"""Every filter tagcast registers on its template environment, by name."""
