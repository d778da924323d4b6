"""Helpers of the store tests: a fixed clock and posts made by hand (no pipeline needed to test the store)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from scheduler.models import Article, Hashtag, Post
from scheduler.store import Store

NOW = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")

MakePost = Callable[..., Post]


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///`` URL."""
    database = make_url(url).database
    assert database is not None
    return database


def make_post(
    source: str = "posts/a.md",
    channel: str = "file",
    *,
    parts: list[str] | None = None,
    at: datetime | None = None,
    active: bool = True,
    problems: list[str] | None = None,
    title: str = "A title",
) -> Post:
    """A valid post planned one hour after NOW (in Berlin time); keyword arguments override its fields."""
    texts = parts if parts is not None else [f"{title} #History"]
    article = Article(
        source=source,
        title=title,
        body="Body text.",
        url=f"https://example.org/{source}",  # one article per file (the url is its identity)
        hashtags=(Hashtag("History"),),
        published=datetime(2026, 5, 1, tzinfo=UTC),
        extra={"series": "Centenaries"},
    )
    return Post(
        article=article,
        channel=channel,
        network="file",
        rule="history",
        template="default.j2",
        parts=tuple(texts),
        lengths=tuple(len(text) for text in texts),
        limit=500,
        unit="characters",
        problems=tuple(problems or ()),
        active=active,
        scheduled_at=at if at is not None else (NOW + timedelta(hours=1)).astimezone(BERLIN),
        slot_note="next free slot of schedule 'daily'",
    )


def queue(store: Store, channel: str, *minutes: int) -> list[str]:
    """One delivery per offset (minutes after NOW) on ``channel``; their ids in that order."""
    for n in minutes:
        store.upsert(make_post(f"posts/{channel}-{n}.md", channel, at=NOW + timedelta(minutes=n)), now=NOW)
    by_source = {d.source: d.id for d in store.list(channel=channel, limit=1000)}
    return [by_source[f"posts/{channel}-{n}.md"] for n in minutes]
