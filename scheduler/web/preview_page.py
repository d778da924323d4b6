"""The preview as one self-contained HTML page: ``tagcast preview --html`` writes it, ``/posts`` serves it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from scheduler import __version__
from scheduler.config.models import ChannelSettings
from scheduler.errors import ArticleError
from scheduler.models import Post
from scheduler.web.cards import Card, post_card, unreadable_cards
from scheduler.web.render import content_security_policy, render


@dataclass(frozen=True, slots=True)
class ArticleGroup:
    title: str
    source: str
    cards: list[Card]


def _groups(cards: Sequence[Card]) -> list[ArticleGroup]:
    by_source: dict[str, ArticleGroup] = {}
    for card in cards:
        group = by_source.setdefault(card.source, ArticleGroup(card.title, card.source, []))
        group.cards.append(card)
    return list(by_source.values())


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def summary_text(posts: Sequence[Post], unreadable: int) -> str:
    articles = len({post.source for post in posts})
    bad = sum(1 for post in posts if post.problems)
    text = f"{_count(len(posts), 'post')} from {_count(articles, 'article')}"
    if bad:
        text += f", {bad} with problems"
    if unreadable:
        text += f", {_count(unreadable, 'article')} could not be read"
    return text if bad or unreadable else text + ", all valid"


def preview_page(
    posts: Sequence[Post],
    errors: Sequence[ArticleError],
    channels: Mapping[str, ChannelSettings],
    *,
    root: Path | None = None,
    generated: datetime | None = None,
    standalone: bool = True,
    nav: str | None = None,
    warnings: Sequence[str] = (),
) -> str:
    """Every post as a card, grouped by article, and a problem card for each article that cannot be read.

    ``warnings`` (the pipeline's: link cards) are shown on the card of the post each names (``"SOURCE
    (CHANNEL): ..."``), the others above the cards. ``standalone``: the page carries its own
    Content-Security-Policy (a file opened from disk has no server to send one) that lets it load nothing
    from anywhere.
    """
    unreadable = unreadable_cards(errors)
    posted = [post_card(post, channels, root) for post in posts]
    posted, general = _with_warnings(posted, warnings)
    cards = unreadable + posted
    return render(
        "preview.html",
        groups=_groups(cards),
        summary=summary_text(posts, len(unreadable)),
        bad=any(post.problems for post in posts),
        unreadable=len(unreadable),
        version=__version__,
        generated=generated.strftime("%Y-%m-%d %H:%M %Z") if generated else None,
        csp_meta=content_security_policy() if standalone else None,
        nav=nav,
        warnings=general,
    )


def _with_warnings(cards: list[Card], warnings: Sequence[str]) -> tuple[list[Card], list[str]]:
    """``cards``, each with the warnings naming its post, and the warnings that name none."""
    left = list(warnings)
    shown: list[Card] = []
    for card in cards:
        prefix = f"{card.source} ({card.channel}): "
        mine = [warning for warning in left if warning.startswith(prefix)]
        left = [warning for warning in left if not warning.startswith(prefix)]
        shown.append(replace(card, warnings=[w.removeprefix(prefix) for w in mine]) if mine else card)
    return shown, left
