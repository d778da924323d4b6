"""The variables a template sees when it renders one article for one channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scheduler.models import Article, Hashtag


def build_context(
    article: Article,
    *,
    body: str,
    tags: Sequence[Hashtag],
    channel: str,
    network: str,
    limit: int,
) -> dict[str, Any]:
    """The template variables for ``article`` on ``channel``.

    ``body`` is the text to show, which fitting may have shortened from ``article.body``; ``tags`` are the
    hashtags the channel allows, in order. Every key of ``article.extra`` (front matter tagcast does not know)
    is a variable too, unless it would hide one of the names below, and all of them are in ``extra``::

        article  title  body  url  reference  explore  tags  channel  network  limit  extra
    """
    context: dict[str, Any] = {
        "article": article,
        "title": article.title,
        "body": body,
        "url": article.url,
        "reference": article.reference,
        "explore": article.explore,
        "tags": list(tags),
        "channel": channel,
        "network": network,
        "limit": limit,
        "extra": dict(article.extra),
    }
    for key, value in article.extra.items():
        context.setdefault(key, value)
    return context
