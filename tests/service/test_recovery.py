"""Start-up recovery: deliveries left in ``sending`` are reconciled through their adapter (never resent
blindly), and the misfire policy after downtime (within the grace: sent late; beyond: the next free slot),
both said in the history and the log."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakes.telegram import TelegramFake
from fakes.webhook import GUARD, HeldWebhook, WebhookFake

from scheduler.adapters.base import Journal, Outgoing
from scheduler.adapters.file import FileAdapter
from scheduler.adapters.registry import load_adapter
from scheduler.pipeline import Pipeline
from scheduler.service.dispatcher import Dispatcher
from scheduler.service.recovery import apply_misfire_policy
from scheduler.store import Delivery, DeliveryState

from .conftest import DUE, Site, article, config_text, dispatch, real_now, reconcile

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def claim_and_die(site: Site, at: datetime) -> Delivery:
    """What a worker that was killed leaves behind: a claimed delivery whose lease has run out."""
    [claimed] = site.store.claim_due(at, worker="dead-worker", lease=timedelta(seconds=1), limit=1)
    return claimed


class Killed(BaseException):
    """Stands for SIGKILL inside an adapter: nothing after it runs."""


def killed_after_the_journal_was_saved(site: Site, delivery: Delivery) -> None:
    """Run the channel's adapter until it has saved its journal before the request, and stop it there."""
    workspace = site.workspace
    settings = workspace.settings.channels[delivery.channel]

    async def save(state: dict[str, object]) -> None:
        site.store.save_journal(delivery.id, state)
        raise Killed

    async def run() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            adapter = load_adapter(settings.network)(
                delivery.channel, settings, http=http, root=workspace.root
            )
            post = Outgoing(
                delivery.id, delivery.idempotency_key, delivery.parts, delivery.to_article(), delivery.channel
            )
            await adapter.publish(post, Journal(state={}, saver=save))

    with pytest.raises(Killed):
        asyncio.run(run())


# --- crash leftovers ----------------------------------------------------------------------------------------


def test_an_interrupted_webhook_send_is_completed_by_replaying_the_same_key(site: Site) -> None:
    with HeldWebhook().running() as hook:
        assert isinstance(hook, HeldWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": hook.url}}))
        site.write_post("p.md", article("Post", publish_at=DUE))
        site.ingest(real_now())

        async def send_then_stop() -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="stopping")
                round_ = asyncio.create_task(dispatcher.run_due(real_now()))
                try:
                    assert await asyncio.to_thread(hook.arrived.wait, GUARD)  # at the receiver, unanswered
                    round_.cancel()
                    await asyncio.gather(round_, return_exceptions=True)
                finally:
                    hook.release.set()  # the receiver acts on it now; its answer finds nobody
                    dispatcher.calls.close()

        asyncio.run(send_then_stop())
        assert hook.handled.wait(GUARD)
        [left] = site.store.list()
        assert left.state is DeliveryState.SENDING  # interrupted: the outcome is not known here
        assert site.store.stale_sending(real_now() + timedelta(milliseconds=1))  # lease released at once

        outcomes = reconcile(site, real_now() + timedelta(seconds=1))
        assert outcomes == {left.id: "sent"}
        assert len(hook.deliveries) == 1 and hook.replays == 1  # the receiver acted once
    done = site.store.get(left.id)
    assert done.state is DeliveryState.SENT and done.remote_ids == (hook.deliveries[0].id,)


def test_a_file_delivery_that_was_not_written_is_sent_again(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    left = claim_and_die(site, NINE)

    assert reconcile(site, NINE + timedelta(minutes=1)) == {left.id: "retrying"}
    history = site.store.history(left.id)
    assert "not posted" in history[-1].reason and "safe to send again" in history[-1].reason
    assert dispatch(site.workspace, site.store, NINE + timedelta(minutes=1)).count("sent") == 1
    assert (site.root / "var" / "outbox" / "out" / f"{left.id}.json").is_file()


def test_a_file_delivery_that_was_written_is_recorded_as_sent(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    left = claim_and_die(site, NINE)
    workspace = site.workspace

    async def dead_worker_wrote_it() -> None:
        async with httpx.AsyncClient() as http:
            adapter = FileAdapter("out", workspace.settings.channels["out"], http=http, root=workspace.root)
            post = Outgoing(left.id, left.idempotency_key, left.parts, left.to_article(), "out")
            await adapter.publish(post, Journal(state={}))

    asyncio.run(dead_worker_wrote_it())
    written = (site.root / "var" / "outbox" / "out" / f"{left.id}.json").stat().st_mtime_ns
    assert reconcile(site, NINE + timedelta(minutes=1)) == {left.id: "sent"}
    assert site.store.get(left.id).remote_url is not None
    assert (site.root / "var" / "outbox" / "out" / f"{left.id}.json").stat().st_mtime_ns == written


def test_a_telegram_send_in_flight_becomes_unknown_and_is_not_resent(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAGCAST_CHANNELS__TG__BOT_TOKEN", "123456:good-token")
    with TelegramFake().running() as telegram:
        assert isinstance(telegram, TelegramFake)
        site.write_config(
            config_text(
                {"tg": {"network": "telegram", "base_url": telegram.base_url, "chat_id": "@tagcastnews"}}
            )
        )
        site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
        site.ingest(T0)
        left = claim_and_die(site, NINE)
        killed_after_the_journal_was_saved(site, left)

        assert reconcile(site, NINE + timedelta(minutes=1)) == {left.id: "unknown"}
        assert dispatch(site.workspace, site.store, NINE + timedelta(hours=2)).claimed == 0
        assert telegram.requests == []  # nothing was (re)sent
    unknown = site.store.get(left.id)
    assert unknown.state is DeliveryState.UNKNOWN
    assert f"tagcast queue resolve {left.id}" in (unknown.last_error or "")


def test_a_reconcile_that_cannot_reach_the_network_is_asked_again_later(
    site: Site, webhook: WebhookFake
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    left = claim_and_die(site, NINE)
    webhook.faults.server_error(status=503)

    later = NINE + timedelta(minutes=1)
    assert reconcile(site, later) == {left.id: "sending"}
    still = site.store.get(left.id)
    assert (
        still.state is DeliveryState.SENDING and still.lease_until is not None and still.lease_until > later
    )
    assert reconcile(site, later) == {}  # its new lease holds

    assert reconcile(site, later + timedelta(minutes=1)) == {left.id: "sent"}
    assert len(webhook.deliveries) == 1


def test_a_live_lease_is_left_alone(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    site.store.claim_due(NINE, worker="alive", lease=timedelta(minutes=5), limit=1)
    assert reconcile(site, NINE + timedelta(minutes=1)) == {}
    assert webhook.requests == []


# --- misfire policy ---------------------------------------------------------------------------------------


def misfire(site: Site, now: datetime) -> object:
    workspace = site.workspace
    return apply_misfire_policy(site.store, Pipeline(workspace), workspace.settings, now=now)


def test_within_the_grace_a_missed_post_goes_out_late_and_says_so(
    site: Site, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    start = NINE + timedelta(minutes=12)

    with caplog.at_level(logging.INFO, logger="tagcast.service"):
        misfire(site, start)
        assert dispatch(site.workspace, site.store, start).count("sent") == 1
    [delivery] = site.store.list()
    reasons = [t.reason for t in site.store.history(delivery.id)]
    assert "missed by 12m during downtime (within service.misfire_grace = 30m): goes out late" in reasons
    assert delivery.scheduled_at == NINE
    assert "going out 12m late" in caplog.text
    assert len(webhook.deliveries) == 1


def test_beyond_the_grace_missed_posts_take_the_next_free_slots_in_order(
    site: Site, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("a.md", article("A", publish_at="2026-01-05T09:00:00Z"))
    site.write_post("b.md", article("B", publish_at="2026-01-05T10:00:00Z"))
    site.write_post("c.md", article("C", publish_at="2026-01-05T18:00:00Z"))
    site.ingest(T0)
    start = datetime(2026, 1, 5, 12, 12, tzinfo=UTC)

    with caplog.at_level(logging.WARNING, logger="tagcast.service"):
        report = misfire(site, start)
    by_title = {d.title: d for d in site.store.list()}
    assert by_title["A"].scheduled_at == datetime(2026, 1, 5, 13, 0, tzinfo=UTC)  # the next free slot
    assert by_title["B"].scheduled_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)  # 18:00 is C's
    assert by_title["C"].scheduled_at == datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    assert set(report.moved) == {by_title["A"].id, by_title["B"].id}  # type: ignore[attr-defined]
    reason = site.store.history(by_title["A"].id)[-1].reason
    assert reason == (
        "missed by 3h12m during downtime (more than service.misfire_grace = 30m); "
        "moved to the next free slot 2026-01-05T13:00:00+00:00"
    )
    assert "missed by 2h12m during downtime" in caplog.text
    assert dispatch(site.workspace, site.store, start).claimed == 0  # nothing goes out late
    assert webhook.requests == []


def test_the_grace_comes_from_the_config(site: Site, webhook: WebhookFake) -> None:
    site.write_config(
        config_text({"hook": {"network": "webhook", "url": webhook.url}}, service={"misfire_grace": "4h"})
    )
    site.write_post("a.md", article("A", publish_at="2026-01-05T09:00:00Z"))
    site.ingest(T0)
    misfire(site, datetime(2026, 1, 5, 12, 12, tzinfo=UTC))
    [delivery] = site.store.list()
    assert delivery.scheduled_at == NINE
    assert "within service.misfire_grace = 4h" in site.store.history(delivery.id)[-1].reason


def test_retrying_and_future_posts_are_not_touched(site: Site, webhook: WebhookFake, tmp_path: Path) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("a.md", article("A", publish_at="2026-01-05T09:00:00Z"))
    site.write_post("b.md", article("B", publish_at="2026-01-09T09:00:00Z"))
    site.ingest(T0)
    webhook.faults.server_error(status=503)
    dispatch(site.workspace, site.store, NINE)
    before = {d.id: (d.state, d.scheduled_at, d.next_attempt_at) for d in site.store.list()}
    report = misfire(site, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert {d.id: (d.state, d.scheduled_at, d.next_attempt_at) for d in site.store.list()} == before
    assert not report.moved and not report.late  # type: ignore[attr-defined]
