"""THE crash test: ``tagcast serve`` is killed with SIGKILL at random points, over and over, and restarted.

Two loopback networks receive the posts, both slow so that kills land in the middle of requests:

- ``hook``: the webhook receiver, which dedupes by ``Idempotency-Key`` (a network with idempotency);
- ``tg``: the Telegram fake, which stores every message it is sent (a network without any).

What must hold at the end: no delivery is lost (every one is ``sent``, or ``unknown`` on Telegram); the
webhook receiver accepted each delivery exactly once; Telegram got at most one copy of each post, and an
ambiguous one is ``unknown``, never resent.

And with images (Mastodon, Bluesky, X): a process killed between the uploads and the post, then recovered by
the next one, leaves exactly one upload per image and one post carrying them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.bluesky import BlueskyFake
from fakes.mastodon import MastodonFake
from fakes.server import FakeServer, Reply, Request
from fakes.telegram import TelegramFake
from fakes.x import XFake
from media_files import gallery

from scheduler.store import DeliveryState, Store

from .conftest import DUE, Site, article, config_text
from .processes import Serve, announce_exit, clean_env
from .test_dispatcher import SlowWebhook

POSTS = 20
ROUNDS = 25
"""SIGKILLs before the final, undisturbed run (fewer when every delivery is settled sooner)."""
MOST_EVENTS = 40
"""A run is killed right after its Nth event, N drawn from 1..MOST_EVENTS: an event is a line the child logs
(start-up, claims, receipts) or a request reaching a fake (a send in flight: the slow fakes sit on it)."""
SETTLED = {DeliveryState.SENT, DeliveryState.UNKNOWN, DeliveryState.FAILED, DeliveryState.CANCELLED}


class SlowTelegram(TelegramFake):
    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def _locked_route(self, request: Request) -> Reply:
        # a slow network: it delays the answer (a kill at the request's arrival lands while it is in flight),
        # it decides nothing
        time.sleep(self.delay / 2)
        reply = super()._locked_route(request)
        time.sleep(self.delay / 2)
        return reply


def settled(store: Store) -> bool:
    deliveries = store.list(limit=1000)
    return len(deliveries) == 2 * POSTS and all(d.state in SETTLED for d in deliveries)


def kill_after_event(serve: Serve, nth: int, fakes: tuple[FakeServer, ...], store: Store) -> None:
    """SIGKILL ``serve`` right after its ``nth`` event (a line it logs or a request it makes to a fake), or
    once every delivery is settled. A chaos input: the kill lands wherever that event was (start-up, a claim,
    a request in flight, a receipt); no assertion depends on what happened by then."""
    before = sum(len(fake.requests) for fake in fakes)
    events = lambda: serve.lines + sum(len(fake.requests) for fake in fakes) - before  # noqa: E731
    serve.wait_for(lambda: events() >= nth or settled(store), f"event {nth} of the run")
    serve.process.send_signal(signal.SIGKILL)
    serve.process.wait()
    serve.close()


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

        assert not settled(site.store)  # the outbox is made here, before any run, and read at each event
        kills = 0
        for _ in range(ROUNDS):
            serve = Serve(site.root, env=env, log=log)
            kill_after_event(serve, rng.randint(1, MOST_EVENTS), (hook, telegram), site.store)
            kills += 1
            if settled(site.store):
                break

        final = Serve(site.root, env=env, log=log)
        try:
            final.wait_for_log("ready: worker", count=log.read_text().count("ready: worker") + 1)
            final.wait_for(lambda: settled(site.store), "every delivery to be settled", timeout=60)
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
            f"\ncrash test (seed {seed}): {kills} SIGKILLs; "
            f"webhook: {len(hook.requests)} requests, {hook.replays} replays deduplicated; "
            f"telegram: {len(telegram.messages)} messages, {unknown} unknown, "
            f"{POSTS - unknown} sent"
        )


# --- a crash between the uploads and the post ---------------------------------------------------------------

DRIVER = Path(__file__).with_name("upload_crash_driver.py")


@dataclass(frozen=True)
class UploadNetwork:
    """A network with image uploads: its channel keys and secrets, the request to hold (the process is
    killed while it waits: every upload before it is journalled), and what its fake received."""

    fake: Callable[[], FakeServer]
    channel: Callable[[FakeServer], dict[str, object]]
    env: dict[str, str]
    hold: str
    hold_after: int
    uploads: Callable[[FakeServer], int]
    posts: Callable[[FakeServer], list[list[bytes]]]


def _bluesky_images(fake: FakeServer) -> list[list[bytes]]:
    assert isinstance(fake, BlueskyFake)
    return [
        [fake.blobs[i["image"]["ref"]["$link"]].data for i in stored.value.get("embed", {}).get("images", [])]
        for _, stored in fake.posts()
    ]


UPLOAD_NETWORKS = {
    "mastodon": UploadNetwork(
        fake=lambda: MastodonFake(token="masto-token", processing_checks=1),
        channel=lambda fake: {"network": "mastodon", "base_url": fake.base_url},
        env={"TAGCAST_CHANNELS__PIX__TOKEN": "masto-token"},
        hold=r"^/api/v1/statuses$",
        hold_after=0,
        uploads=lambda fake: len(fake.uploads),  # type: ignore[attr-defined]
        posts=lambda fake: [[m.data for m in s.media] for s in fake.statuses],  # type: ignore[attr-defined]
    ),
    "bluesky": UploadNetwork(
        fake=BlueskyFake,
        channel=lambda fake: {"network": "bluesky", "base_url": fake.base_url, "handle": "alice.test"},
        env={"TAGCAST_CHANNELS__PIX__PASSWORD": "app-pass-1234"},
        hold=r"/xrpc/com\.atproto\.repo\.putRecord$",
        hold_after=0,
        uploads=lambda fake: len(fake.blob_uploads),  # type: ignore[attr-defined]
        posts=_bluesky_images,
    ),
    "x": UploadNetwork(
        fake=XFake,
        channel=lambda fake: {"network": "x", "base_url": fake.base_url},
        env={
            "TAGCAST_CHANNELS__PIX__OAUTH2_TOKEN": "o2-access",
        },
        hold=r"^/2/media/metadata$",  # the second image's alt text: both uploads are journalled by then
        hold_after=1,
        uploads=lambda fake: len(fake.media_uploads),  # type: ignore[attr-defined]
        posts=lambda fake: [[m.data for m in t.media] for t in fake.tweets],  # type: ignore[attr-defined]
    ),
}


@pytest.mark.parametrize("network", sorted(UPLOAD_NETWORKS))
def test_sigkill_between_the_uploads_and_the_post_reuses_the_uploads(
    site: Site, tmp_path: Path, network: str
) -> None:
    """The process is killed (SIGKILL) while its post (or, on X, the last alt text) is in flight, after
    every image was uploaded and journalled in the outbox. The next process, as the service's recovery
    does, reconciles and publishes: the fake received exactly one upload per image and one post, carrying
    them."""
    spec = UPLOAD_NETWORKS[network]
    images = gallery(tmp_path / "media", 2)
    media_json = tmp_path / "media.json"
    media_json.write_text(
        json.dumps([{**dataclasses.asdict(m), "path": str(m.path)} for m in images]), encoding="utf-8"
    )
    with spec.fake().running() as fake:
        site.write_config(config_text({"pix": spec.channel(fake)}))
        site.write_post("pictures.md", article("Two pictures", publish_at=DUE))
        site.ingest(datetime.now(UTC))
        [delivery] = site.store.list(limit=10)
        fake.faults.timeout(seconds=120, path=spec.hold, after=spec.hold_after)
        command = [sys.executable, str(DRIVER), str(site.root), delivery.id, str(media_json)]
        first = subprocess.Popen(
            [*command, "publish"], cwd=site.root, env=clean_env(spec.env), stdout=subprocess.PIPE, text=True
        )
        try:
            announce_exit(first)
            fake.wait_for(
                lambda: len(fake.requests_to("POST", spec.hold)) > spec.hold_after,
                f"the held request {spec.hold} while the first process ran",
                gone=lambda: first.poll() is not None,
            )
            first.send_signal(signal.SIGKILL)
        finally:
            first.wait()
            assert first.stdout is not None
            first.stdout.close()
        assert first.returncode == -signal.SIGKILL
        journal = site.store.get(delivery.id).journal
        assert len(journal["uploads"][network]) == 2, "the uploads were not journalled before the post"
        assert spec.posts(fake) == []

        second = subprocess.run(
            [*command, "recover"],
            cwd=site.root,
            env=clean_env(spec.env),
            capture_output=True,
            text=True,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert spec.uploads(fake) == 2, "an image was uploaded again after the crash"
        assert spec.posts(fake) == [[m.read_bytes() for m in images]]
        assert len(json.loads(second.stdout)) == 1
