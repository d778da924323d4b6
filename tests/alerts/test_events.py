"""Events from the settler (a real dispatch against a loopback receiver), the bus that never lets a subscriber
break the emitter, the metrics they feed, and how a start after a crash is recognised."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakes.webhook import WebhookFake
from service.conftest import DUE, Site, article, config_text
from store.store_support import make_post

from scheduler.service.dispatcher import Dispatcher
from scheduler.service.events import (
    ChannelPaused,
    DeliveryFailed,
    DeliverySent,
    Event,
    EventBus,
    FailureKind,
    PauseCause,
)
from scheduler.service.metrics import Metrics
from scheduler.service.previous_run import previous_run, process_running
from scheduler.store import Store

PAST = DUE


def test_a_subscriber_that_raises_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    heard: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("a bug in a subscriber")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(heard.append)
    event = ChannelPaused(at=datetime.now(UTC), channel="a", until=None, reason="x", cause=PauseCause.AUTH)
    with caplog.at_level(logging.ERROR, logger="tagcast.events"):
        bus.emit(event)
    assert heard == [event]
    assert (
        "an event subscriber failed on channel.paused" in caplog.text
        and "a bug in a subscriber" in caplog.text
    )
    unsubscribe()
    bus.emit(event)
    assert heard == [event]


def test_the_settler_emits_what_it_records_and_the_metrics_count_it(site: Site, webhook: WebhookFake) -> None:
    with WebhookFake(secret="the-receiver-wants-this").running() as refusing:
        site.write_config(
            config_text(
                {
                    "hook": {"network": "webhook", "url": webhook.url},
                    "locked": {"network": "webhook", "url": refusing.url, "secret_file": "locked.secret"},
                }
            )
        )
        (site.root / "locked.secret").write_text("a-wrong-secret", encoding="utf-8")
        site.write_post("p.md", article("Post", publish_at=PAST))
        site.ingest(datetime.now(UTC))
        heard: list[Event] = []
        metrics = Metrics(lambda: ["hook", "locked"])

        async def go() -> None:
            async with httpx.AsyncClient(timeout=5) as http:
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="w1")
                dispatcher.settler.events.subscribe(heard.append)
                dispatcher.settler.events.subscribe(metrics.observe)
                try:
                    await dispatcher.run_due(datetime.now(UTC))
                finally:
                    dispatcher.calls.close()

        asyncio.run(go())

    [sent] = [e for e in heard if isinstance(e, DeliverySent)]
    assert sent.channel == "hook" and sent.source == "posts/p.md" and sent.url and sent.attempt == 1
    assert sent.lateness == sent.at - sent.scheduled_at >= timedelta(0)  # a past publish_at means now
    [paused] = [e for e in heard if isinstance(e, ChannelPaused)]
    [failed] = [e for e in heard if isinstance(e, DeliveryFailed)]
    assert paused.channel == "locked" and paused.cause is PauseCause.AUTH and paused.until is None
    assert failed.kind is FailureKind.AUTH and failed.final and failed.delivery_id == paused.delivery_id
    assert heard.index(paused) < heard.index(failed)  # the pause is in the store before the failure

    text = metrics.render().decode()
    assert 'tagcast_delivery_attempts_total{channel="hook",outcome="sent"} 1.0' in text
    assert 'tagcast_delivery_attempts_total{channel="locked",outcome="failed"} 1.0' in text
    assert 'tagcast_delivery_failures_total{channel="locked",kind="auth"} 1.0' in text
    assert 'tagcast_channel_pauses_total{cause="auth",channel="locked"} 1.0' in text
    assert 'tagcast_dispatch_lateness_seconds_bucket{channel="hook",le="+Inf"} 1.0' in text


def test_the_outbox_gauges_come_from_the_store(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=tmp_path) as store:
        store.upsert(make_post("posts/a.md", "file", at=now + timedelta(hours=2)), now=now)
        store.pause_channel("masto", until=None, reason="credentials rejected", now=now)
        metrics = Metrics(lambda: ["file", "idle"])
        assert "tagcast_outbox_up 0.0" in metrics.render().decode()  # nothing read yet
        asyncio.run(metrics.refresh(store, timeout=5))
    text = metrics.render().decode()
    assert 'tagcast_deliveries{channel="file",state="planned"} 1.0' in text
    assert 'tagcast_deliveries{channel="idle",state="sent"} 0.0' in text
    assert "tagcast_queue_depth 1.0" in text
    assert 'tagcast_channel_paused{channel="masto"} 1.0' in text
    assert 'tagcast_channel_paused{channel="file"} 0.0' in text
    assert "tagcast_next_due_timestamp_seconds" in text
    assert "tagcast_outbox_up 1.0" in text
    assert "_created" not in text


def finished_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(child.stdout)


def test_a_start_after_a_crash_is_the_last_run_on_this_host_that_did_not_stop(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    dead = finished_pid()
    assert not process_running(dead) and process_running(os.getpid())
    with Store.open("sqlite:///var/tagcast.db", root=tmp_path) as store:
        assert previous_run(store, host="box") is None
        store.register_worker("box-1", host="box", pid=dead, now=now - timedelta(hours=2))
        store.stop_worker("box-1", now=now - timedelta(hours=1))
        run = previous_run(store, host="box")
        assert run is not None and run.worker_id == "box-1" and run.stopped_cleanly

        store.register_worker("box-2", host="box", pid=dead, now=now - timedelta(minutes=30))  # then killed
        store.register_worker("live", host="box", pid=os.getppid(), now=now - timedelta(minutes=1))  # running
        store.register_worker("elsewhere", host="other", pid=dead, now=now)  # another host's business
        run = previous_run(store, host="box")
        assert run is not None and run.worker_id == "box-2" and not run.stopped_cleanly

        store.register_worker(
            "box-3", host="box", pid=os.getpid(), now=now
        )  # an earlier process with our pid
        run = previous_run(store, host="box", pid=os.getpid())
        assert run is not None and run.worker_id == "box-3"
