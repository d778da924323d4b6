"""``tagcast serve --http``: ``/healthz`` says 200 while the clock runs and the outbox answers, 503 with the
reason when the outbox goes away or the dispatcher stalls (``status --check`` says so too); ``/metrics``
speaks the Prometheus text format; the address parsing."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.webhook import WebhookFake
from prometheus_client.parser import text_string_to_metric_families
from store.store_support import make_post
from typer.testing import CliRunner

from scheduler.adapters.base import Receipt
from scheduler.cli.app import app
from scheduler.service.endpoint import Address
from scheduler.service.health import stall_problem
from scheduler.service.monitor import Monitor
from scheduler.store import Store, StoreError
from scheduler.store.store import Progress

from .conftest import DUE, Site, article, config_text
from .processes import Serve

PAST = DUE


def endpoint(serve: Serve) -> str:
    serve.wait_for_log("serving /healthz and /metrics on")
    match = re.search(r"serving /healthz and /metrics on (http://[\d.]+:\d+)", serve.output)
    assert match is not None, serve.output
    return match.group(1)


def test_healthz_turns_503_when_the_outbox_goes_away(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at=PAST))
    serve = Serve(site.root, "--http", "127.0.0.1:0", log=site.root / "serve.log")
    try:
        url = endpoint(serve)
        serve.wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200, "the service to be healthy")
        healthy = httpx.get(f"{url}/healthz")
        assert healthy.headers["content-type"] == "application/json"
        assert healthy.json()["checks"] == {"clock": "ok", "outbox": "ok", "dispatcher": "ok"}
        serve.wait_for(lambda: len(webhook.deliveries) == 1, "the post to go out")

        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        families = {family.name: family for family in text_string_to_metric_families(metrics.text)}
        assert {
            "tagcast_deliveries",
            "tagcast_queue_depth",
            "tagcast_channel_paused",
            "tagcast_delivery_attempts",
            "tagcast_dispatch_lateness_seconds",
            "tagcast_outbox_up",
        } <= set(families)
        sent = [s for s in families["tagcast_deliveries"].samples if s.labels["state"] == "sent"]
        assert [(s.labels["channel"], s.value) for s in sent] == [("hook", 1.0)]
        assert httpx.head(f"{url}/metrics").content == b""
        assert httpx.get(f"{url}/nothing-here").status_code == 404
        assert httpx.post(f"{url}/healthz").status_code == 405

        shutil.rmtree(site.root / "var")  # the outbox file and its folder are gone
        serve.wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 503, "the health check to fail")
        sick = httpx.get(f"{url}/healthz").json()
        assert sick["status"] == "unavailable" and sick["checks"]["clock"] == "ok"
        assert "tagcast.db is missing" in sick["checks"]["outbox"]
    finally:
        serve.stop()


def test_a_store_that_no_longer_answers_fails_its_ping(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)
    store.ping()
    store.engine.dispose()
    database = tmp_path / "var" / "tagcast.db"
    for leftover in database.parent.glob("tagcast.db*"):
        leftover.unlink()
    database.mkdir()  # the file replaced by a directory: nothing can open it
    with pytest.raises(StoreError, match="missing"):
        store.ping()
    database.rmdir()
    database.write_bytes(b"this is not a database file, it is just text that is long enough" * 20)
    with pytest.raises(StoreError, match="does not answer"):
        store.ping()
    store.close()


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("9464", Address("127.0.0.1", 9464)),
        (":9464", Address("127.0.0.1", 9464)),
        ("127.0.0.1:0", Address("127.0.0.1", 0)),
        ("0.0.0.0:9464", Address("0.0.0.0", 9464)),
        ("[::1]:9464", Address("::1", 9464)),
        ("localhost:9464", Address("localhost", 9464)),
    ],
)
def test_http_addresses_are_loopback_unless_a_host_is_named(text: str, address: Address) -> None:
    assert Address.parse(text) == address
    assert Address.parse(text).loopback is (address.host != "0.0.0.0")


@pytest.mark.parametrize("text", ["", "host", "127.0.0.1:99999", "127.0.0.1:http"])
def test_http_addresses_that_are_not_host_and_port_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        Address.parse(text)


T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


class MovingClock:
    """The service's clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_healthz_reports_a_stalled_dispatcher_by_the_services_clock(site: Site) -> None:
    """Two posts due at T0 on one channel, a service started half an hour later that sends nothing: the test
    plays the dispatcher's part (claims, receipts) and moves the clock the monitor reads."""
    site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "10m"}))
    for source in ("posts/a.md", "posts/b.md"):
        site.store.upsert(make_post(source, "file", at=T0), now=T0 - timedelta(hours=1))
    clock = MovingClock(T0 + timedelta(minutes=30))
    monitor = Monitor(
        site.workspace, site.store, worker_id="w1", http=Address("127.0.0.1", 0), host="box", clock=clock
    )

    async def scenario() -> list[tuple[int, dict[str, Any]]]:
        seen: list[tuple[int, dict[str, Any]]] = []
        await monitor.start(clock_problem=lambda: None)
        try:
            assert monitor.bound is not None
            async with httpx.AsyncClient(base_url=monitor.bound.url) as client:

                async def look(minutes: int) -> None:
                    clock.now = T0 + timedelta(minutes=minutes)
                    answer = await client.get("/healthz")
                    seen.append((answer.status_code, answer.json()["checks"]))

                await look(30)  # a backlog from the downtime, but the service has just started
                await look(41)  # 11m since the start and nothing claimed: stalled
                claimed = site.store.claim_due(clock.now, worker="w1", lease=LEASE, limit=1)
                await look(41)  # a claim is progress
                await look(52)  # the other post waits, nothing moved for 11m
                site.store.mark_sent(claimed[0].id, Receipt(remote_ids=("1",)), now=clock.now)
                await look(52)  # a receipt is progress
                site.store.pause_channel("file", until=None, reason="paused by the operator", now=clock.now)
                await look(300)  # a paused channel's posts are not due work
        finally:
            await monitor.stop()
        return seen

    seen = asyncio.run(scenario())
    assert [status for status, _ in seen] == [200, 503, 200, 503, 200, 200]
    assert seen[1][1] == {
        "clock": "ok",
        "outbox": "ok",
        "dispatcher": "the dispatcher is stalled: a post has been due for 41m and no delivery was claimed or "
        "settled for 11m (service.stall_after = 10m); read the log of `tagcast serve` and restart it",
    }
    assert seen[3][1]["dispatcher"].startswith(
        "the dispatcher is stalled: a post has been due for 52m and no delivery was claimed or settled "
        "for 11m"
    )
    assert all(checks["dispatcher"] == "ok" for status, checks in seen if status == 200)


def test_a_stall_with_no_claim_ever_and_no_service_start_asks_whether_serve_runs() -> None:
    progress = Progress(oldest_due=T0, last_progress=None)
    assert stall_problem(progress, now=T0 + timedelta(minutes=9), stall_after=timedelta(minutes=10)) is None
    assert stall_problem(progress, now=T0 + timedelta(minutes=12), stall_after=timedelta(minutes=10)) == (
        "the dispatcher is stalled: a post has been due for 12m and no delivery was ever claimed "
        "(service.stall_after = 10m); is `tagcast serve` running?"
    )
    assert stall_problem(progress, now=T0 + timedelta(days=9), stall_after=timedelta(0)) is None


def status_check(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["status", "--check", "--json", "--config", str(root)])
    return result.exit_code, result.stdout


def test_status_check_names_a_stalled_dispatcher(site: Site) -> None:
    now = datetime.now(UTC)
    site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "5m"}))
    hour_ago = now - timedelta(hours=1)
    site.store.upsert(make_post("posts/a.md", "file", at=now - timedelta(minutes=30)), now=hour_ago)
    code, out = status_check(site.root)  # no service ever ran: that is the problem, not a stall
    assert code == 1 and [p for p in json.loads(out)["problems"] if "stalled" in p] == []

    site.store.register_worker("w1", host="elsewhere", pid=1, now=now - timedelta(minutes=8))
    site.store.heartbeat("w1", now=now)  # a service runs, for 8m now, and sends nothing
    code, out = status_check(site.root)
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem.startswith("the dispatcher is stalled: a post has been due for 30m")
    assert "(service.stall_after = 5m)" in problem

    site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "0s"}))
    assert status_check(site.root)[0] == 0  # switched off

    site.write_config(config_text({"file": {"network": "file"}}, service={"stall_after": "5m"}))
    [claimed] = site.store.claim_due(now - timedelta(minutes=3), worker="w1", lease=LEASE, limit=1)
    site.store.mark_sent(claimed.id, Receipt(remote_ids=("1",)), now=now - timedelta(minutes=3))
    site.store.upsert(make_post("posts/b.md", "file", at=now - timedelta(minutes=20)), now=hour_ago)
    assert status_check(site.root) == (0, json.dumps({"ok": True, "problems": []}, indent=2) + "\n")
