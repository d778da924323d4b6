"""THE crash test: ``tagcast serve`` is killed with SIGKILL at random points, over and over, and restarted.

Two loopback networks receive the posts, both slow so that kills land in the middle of requests:

- ``hook``: the webhook receiver, which dedupes by ``Idempotency-Key`` (a network with idempotency);
- ``tg``: the Telegram fake, which stores every message it is sent (a network without any).

What must hold at the end: no delivery is lost (every one is ``sent``, or ``unknown`` on Telegram); the
webhook receiver accepted each delivery exactly once; Telegram got at most one copy of each post, and an
ambiguous one is ``unknown``, never resent.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from fakes.server import Reply, Request
from fakes.telegram import TelegramFake

from scheduler.store import DeliveryState, Store

from .conftest import DUE, Site, article, config_text
from .processes import Serve
from .test_dispatcher import SlowWebhook

POSTS = 20
ROUNDS = 25
BUDGET = 60.0
"""Seconds of killing before the final, undisturbed run."""
SETTLED = {DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.FAILED, DeliveryState.CANCELLED}


class SlowTelegram(TelegramFake):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def _locked_route(self, request: Request) -> Reply:
        time.sleep(self.delay / 2)
        reply = super()._locked_route(request)
        time.sleep(self.delay / 2)
        return reply


def settled(root: Path) -> bool:
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        deliveries = store.list(limit=1000)
    return len(deliveries) == 2 * POSTS and all(d.state in SETTLED for d in deliveries)


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_or_repeats_a_post(site: Site) -> None:
    seed = int(os.environ.get("TAGCAST_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    env = {"TAGCAST_CHANNELS__TG__BOT_TOKEN": "123456:good-token"}
    log = site.root / "serve.log"
    with SlowWebhook(delay=0.3).running() as hook, SlowTelegram(delay=0.3).running() as telegram:
        assert isinstance(hook, SlowWebhook) and isinstance(telegram, SlowTelegram)
        site.write_config(
            config_text(
                {
                    "hook": {"network": "webhook", "url": hook.url},
                    "tg": {"network": "telegram", "base_url": telegram.base_url, "chat_id": "@tagcastnews"},
                },
                service={
                    "lease": "1s",
                    "watch_interval": "0.2s",
                    "backoff_base": "0.2s",
                    "backoff_max": "1s",
                    "concurrency": 2,
                    "request_timeout": "5s",
                },
            )
        )
        for number in range(POSTS):
            site.write_post(f"p{number:02d}.md", article(f"Post {number:02d}", publish_at=DUE))

        kills = 0
        started = time.monotonic()
        while kills < ROUNDS and time.monotonic() - started < BUDGET:
            serve = Serve(site.root, env=env, log=log)
            time.sleep(rng.uniform(0.6, 3.0))
            serve.process.send_signal(signal.SIGKILL)
            serve.process.wait()
            serve.close()
            kills += 1
            if settled(site.root):
                break

        final = Serve(site.root, env=env, log=log)
        try:
            final.wait_for_log("ready: worker", count=log.read_text().count("ready: worker") + 1)
            final.wait_for(lambda: settled(site.root), "every delivery to be settled", timeout=60)
        finally:
            assert final.stop() == 0, final.output

        deliveries = site.store.list(limit=1000)
        by_channel = {channel: [d for d in deliveries if d.channel == channel] for channel in ("hook", "tg")}
        assert {len(v) for v in by_channel.values()} == {POSTS}

        # the idempotent network: all sent, each accepted exactly once
        assert {d.state for d in by_channel["hook"]} == {DeliveryState.SENT}
        accepted = Counter(d.key for d in hook.deliveries)
        assert sorted(accepted) == sorted(d.idempotency_key for d in by_channel["hook"])
        assert set(accepted.values()) == {1}

        # the network without keys: sent once, or unknown and never resent
        copies = Counter(message.text for message in telegram.messages)
        for delivery in by_channel["tg"]:
            assert delivery.state in (DeliveryState.SENT, DeliveryState.UNKNOWN), delivery
            received = copies[delivery.parts[0]]
            if delivery.state is DeliveryState.SENT:
                assert received == 1, delivery
            else:
                assert received <= 1, delivery
        assert sum(copies.values()) == len(telegram.messages) and max(copies.values(), default=0) <= 1

        unknown = sum(d.state is DeliveryState.UNKNOWN for d in by_channel["tg"])
        print(
            f"\ncrash test (seed {seed}): {kills} SIGKILLs in {time.monotonic() - started:.1f} s; "
            f"webhook: {len(hook.requests)} requests, {hook.replays} replays deduplicated; "
            f"telegram: {len(telegram.messages)} messages, {unknown} unknown, "
            f"{POSTS - unknown} sent"
        )
