"""One stuck channel is named while the others go on: ``/healthz`` (``check_health``, by the service's
clock) and ``status --check`` report a channel whose posts wait for ``service.stall_after`` while other
channels' posts are claimed and settled, and a send in flight that long (its adapter does not return). The
test plays the dispatcher's part on a real outbox, or runs the real dispatcher against a receiver that holds
the request; time is a ManualClock moved by the test, never the wall clock."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fakes.clock import GUARD, ManualClock
from fakes.webhook import HeldWebhook
from service.conftest import DUE, Site, article, config_text, real_now
from store.store_support import make_post
from typer.testing import CliRunner

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.service.dispatcher import Dispatcher
from scheduler.service.health import SendWatch, check_health
from scheduler.store import DeliveryState, Store

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
STALL = timedelta(minutes=10)
RESTART = "read the log of `tagcast serve` and restart it"


def dispatcher_check(store: Store, clock: ManualClock, sends: SendWatch | None = None) -> str:
    health = asyncio.run(
        check_health(
            store,
            worker="w1",
            clock_problem=lambda: None,
            now=clock.now(),
            stall_after=STALL,
            since=T0 - timedelta(hours=1),
            sends=sends,
            timeout=GUARD,  # an outbox that does not answer in 2s is not what these tests are about
        )
    )
    return health.checks["dispatcher"]


def send_one(store: Store, channel: str, clock: ManualClock) -> None:
    """The dispatcher's part for one post of ``channel``: claim it, and record that it went out."""
    [claimed] = store.claim_due(clock.now(), worker="w1", lease=LEASE, limit=10)
    assert claimed.channel == channel
    store.mark_sent(claimed.id, Receipt(remote_ids=(claimed.id,)), now=clock.now())


def test_a_channel_whose_posts_wait_while_another_sends_is_named(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)
    store.upsert(make_post("posts/stuck.md", "stuck", at=T0), now=T0 - timedelta(hours=2))
    for minute in range(0, 30, 4):
        at = T0 + timedelta(minutes=minute)
        store.upsert(make_post(f"posts/busy-{minute}.md", "busy", at=at), now=T0 - timedelta(hours=2))
    store.pause_channel("stuck", until=None, reason="held by the test", now=T0)  # the dispatcher skips it
    clock = ManualClock(T0)
    seen = []
    for minute in range(0, 24, 4):  # busy sends on time; stuck's post waits
        clock.at = T0 + timedelta(minutes=minute)
        send_one(store, "busy", clock)
        store.resume_channel("stuck")
        seen.append(dispatcher_check(store, clock))
        store.pause_channel("stuck", until=None, reason="held by the test", now=clock.now())
    store.resume_channel("stuck")

    assert seen[:3] == ["ok", "ok", "ok"]  # due for 0, 4, 8 minutes
    assert seen[3] == (  # 12 minutes: the service as a whole made progress a moment ago
        "channel 'stuck' is stalled: a post has been due for 12m and none of its deliveries was claimed or "
        f"settled for 1h12m (service.stall_after = 10m); {RESTART}"
    )
    assert "'busy'" not in "".join(seen)
    clock.at = T0 + timedelta(minutes=25)
    claimed = store.claim_due(clock.now(), worker="w1", lease=LEASE, limit=10)
    assert "stuck" in {d.channel for d in claimed}
    assert dispatcher_check(store, clock) == "ok"  # a claim is progress for its channel
    store.close()


def test_two_stuck_channels_are_both_named_and_a_whole_stall_keeps_its_message(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)
    for channel in ("a", "b", "c"):
        store.upsert(make_post(f"posts/{channel}.md", channel, at=T0), now=T0 - timedelta(hours=2))
        store.upsert(make_post(f"posts/{channel}2.md", channel, at=T0 + timedelta(minutes=1)), now=T0)
    clock = ManualClock(T0 + timedelta(minutes=15))
    whole = dispatcher_check(store, clock)  # nothing moved anywhere: the dispatcher, not a channel
    assert whole.startswith("the dispatcher is stalled: a post has been due for 15m")
    for held in ("a", "b"):  # the dispatcher sends only on c
        store.pause_channel(held, until=None, reason="held by the test", now=clock.now())
    [claimed] = store.claim_due(clock.now(), worker="w1", lease=LEASE, limit=1)
    store.mark_sent(claimed.id, Receipt(remote_ids=("1",)), now=clock.now())
    for held in ("a", "b"):
        store.resume_channel(held)
    stalled = (
        "channel '{}' is stalled: a post has been due for 15m and none of its deliveries was claimed or "
        f"settled for 1h15m (service.stall_after = 10m); {RESTART}"
    )
    assert claimed.channel == "c"
    assert dispatcher_check(store, clock) == "; ".join(stalled.format(name) for name in ("a", "b"))
    store.close()


def test_status_check_names_the_stuck_channel(site: Site) -> None:
    now = datetime.now(UTC)
    channels = {"stuck": {"network": "file"}, "busy": {"network": "file"}}
    site.write_config(config_text(channels, service={"stall_after": "5m"}))
    site.store.upsert(make_post("posts/stuck.md", "stuck", at=now - timedelta(minutes=30)), now=now)
    site.store.upsert(make_post("posts/busy.md", "busy", at=now - timedelta(minutes=31)), now=now)
    site.store.register_worker("w1", host="elsewhere", pid=1, now=now - timedelta(hours=1))
    site.store.heartbeat("w1", now=now)
    site.store.pause_channel("stuck", until=None, reason="test", now=now - timedelta(minutes=31))
    [claimed] = site.store.claim_due(now - timedelta(minutes=1), worker="w1", lease=LEASE, limit=10)
    site.store.mark_sent(claimed.id, Receipt(remote_ids=("1",)), now=now - timedelta(minutes=1))
    site.store.resume_channel("stuck")

    result = CliRunner().invoke(app, ["status", "--check", "--json", "--config", str(site.root)])
    assert result.exit_code == 1, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert problem.startswith("channel 'stuck' is stalled: a post has been due for 30m")
    assert "(service.stall_after = 5m)" in problem


def test_a_send_that_does_not_return_names_its_channel_and_delivery(site: Site) -> None:
    """The real dispatcher sends to a receiver that holds the request; the clock it and the watch read is
    moved past stall_after: the health check names the channel and the delivery, until the send ends."""
    with HeldWebhook().running() as held:
        assert isinstance(held, HeldWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": held.url}}))
        site.write_post("p.md", article("Post", publish_at=DUE))
        site.ingest(real_now())
        clock = ManualClock(real_now())
        sends = SendWatch(clock.now)

        async def scenario() -> tuple[str, str, str]:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(
                    site.workspace,
                    site.store,
                    http,
                    worker_id="w1",
                    clock=clock.now,
                    sleep=clock.sleep,
                    sends=sends,
                )
                round_ = asyncio.create_task(dispatcher.run_due(clock.now()))
                try:
                    assert await asyncio.to_thread(held.arrived.wait, GUARD)  # the send is in flight
                    [sending] = site.store.list(states=[DeliveryState.SENDING])
                    assert sends.in_flight() == {sending.id: ("hook", clock.now())}
                    early = "; ".join(sends.stuck(now=clock.now() + STALL / 2, stall_after=STALL))
                    late = "; ".join(sends.stuck(now=clock.now() + STALL, stall_after=STALL))
                    held.release.set()
                    await round_
                    after = "; ".join(sends.stuck(now=clock.now() + STALL, stall_after=STALL))
                    return early, late.replace(sending.id, "ID"), after
                finally:
                    held.release.set()
                    await asyncio.gather(round_, return_exceptions=True)
                    dispatcher.calls.close()

        early, late, after = asyncio.run(scenario())
    assert early == ""
    assert late == (
        "channel 'hook' is stalled: delivery ID has been sending for 10m (service.stall_after = 10m); its "
        f"adapter does not return: {RESTART}"
    )
    assert after == ""  # settled: nothing in flight
    assert len(held.requests) == 1


def test_the_health_check_reports_a_stuck_send_with_the_outbox_s_stalls(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)
    clock = ManualClock(T0)
    sends = SendWatch(clock.now)
    with sends.sending("d_stuck", "slow"):
        clock.advance(STALL.total_seconds())
        assert dispatcher_check(store, clock, sends).startswith(
            "channel 'slow' is stalled: delivery d_stuck has been sending for 10m"
        )
    assert dispatcher_check(store, clock, sends) == "ok"
    assert sends.stuck(now=clock.now() + STALL * 9, stall_after=timedelta(0)) == []
    store.close()
