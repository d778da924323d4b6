"""A cluster of ``tagcast serve`` processes on one PostgreSQL outbox, sending to an idempotent webhook fake.

Used by ``test_many_workers.py`` (and by ``bench/scale.py`` for the same workspace and queue shapes).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from fakes.server import Reply, Request
from fakes.webhook import WebhookFake

from scheduler.models import Article, Hashtag, Post
from scheduler.store import Store


class SlowWebhook(WebhookFake):
    """The webhook fake (it dedupes by ``Idempotency-Key``: ``deliveries`` are the POSTs it accepted,
    ``replays`` the duplicates it answered without acting) taking ``delay`` seconds per request outside its
    lock, like a real network: each worker then holds claims while it waits."""

    def __init__(self, delay: float) -> None:
        super().__init__(secret=None)
        self.delay = delay

    def handle(self, request: Request) -> Reply | None:
        if self.delay:
            time.sleep(self.delay)
        return super().handle(request)


def workspace(root: Path, *, store_url: str, hook_url: str, channels: int, service: dict[str, str]) -> Path:
    """A workspace with ``channels`` webhook channels ``w00``... all posting to ``hook_url``."""
    names = [f"w{n:02}" for n in range(channels)]
    lines = [
        "[store]",
        f'url = "{store_url}"',
        "[defaults]",
        f'channels = ["{names[0]}"]',
        "[service]",
        *(f'{key} = "{value}"' for key, value in service.items()),
    ]
    for name in names:
        lines += [f"[channels.{name}]", 'network = "webhook"', f'url = "{hook_url}"']
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "posts").mkdir(exist_ok=True)
    (root / "config" / "tagcast.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def webhook_post(n: int, channel: str, at: datetime) -> Post:
    """Delivery number ``n`` of the queue: a one-part webhook post for ``channel`` at ``at``."""
    text = f"Post {n} #History"
    article = Article(
        source=f"posts/{n:05}.md",
        title=f"Post {n}",
        body="Body.",
        url=f"https://example.org/{n}",
        hashtags=(Hashtag("History"),),
    )
    return Post(
        article=article,
        channel=channel,
        network="webhook",
        rule="default",
        template="default.j2",
        parts=(text,),
        lengths=(len(text),),
        limit=10_000,
        unit="characters",
        scheduled_at=at,
        slot_note="queued by the test",
    )


def fill(store: Store, count: int, channels: int, *, now: datetime) -> None:
    """``count`` deliveries due now, round-robin over the channels, one millisecond of slot apart."""
    start = now - timedelta(milliseconds=count)
    for n in range(count):
        store.upsert(webhook_post(n, f"w{n % channels:02}", start + timedelta(milliseconds=n)), now=now)
