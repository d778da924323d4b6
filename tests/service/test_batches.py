"""Batches end to end, against loopback fakes: a channel's due posts claimed at once and sent one at a time in
slot order; a failure or a stop gives back what was not started; a dead worker's batch is reconciled in slot
order, and what surely never started is queued again without a network call. Also the store thread's group
commit and the batch sizes."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fakes.telegram import TelegramFake
from fakes.webhook import WebhookFake
from sqlalchemy import event

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.config.loader import Workspace
from scheduler.service.ahead import FIRST, HOLD, MOST, Ahead
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.storecalls import StoreCalls
from scheduler.store import DeliveryConflict, DeliveryState

from .conftest import DUE, Site, article, config_text, dispatch, real_now
from .test_dispatcher import SlowWebhook
from .test_recovery import reconcile

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def posts(site: Site, count: int, publish_at: str = "2026-01-05T09:00:00Z") -> None:
    """``count`` articles for the same slot (their deliveries are in id order within it)."""
    for number in range(count):
        site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=publish_at))


def titles(fake: WebhookFake) -> list[str]:
    return [d.body["article"]["title"] for d in fake.deliveries]


def slot_order(site: Site, channel: str) -> list[str]:
    return [d.id for d in site.store.list(channel=channel, limit=1000)]


def test_a_channels_due_posts_go_out_one_at_a_time_in_slot_order(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 5)
    site.ingest(T0)
    report = dispatch(site.workspace, site.store, NINE)
    assert report.count("sent") == 5
    assert [d.body["delivery_id"] for d in webhook.deliveries] == slot_order(site, "hook")
    for delivery in site.store.list():
        history = site.store.history(delivery.id)
        assert [t.to_state for t in history] == [
            DeliveryState.PLANNED,
            DeliveryState.SENDING,
            DeliveryState.SENT,
        ]
        assert history[1].reason == "claimed by test-worker (attempt 1)"
    # claimed in one batch: every claim in the same transaction, at the same time
    assert len({site.store.history(d.id)[1].at for d in site.store.list()}) == 1


def test_a_batch_claims_the_channels_next_posts_before_it_runs_out(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 20, publish_at=DUE)
    site.ingest(real_now())
    order = slot_order(site, "hook")
    assert dispatch(site.workspace, site.store).count("sent") == 20
    assert [d.body["delivery_id"] for d in webhook.deliveries] == order
    claimed_at = [site.store.history(i)[1].at for i in order]
    sent_at = [site.store.history(i)[2].at for i in order]
    assert claimed_at[:FIRST] == [claimed_at[0]] * FIRST  # the first batch: before the channel was timed
    # the rest was claimed while the first batch was still being sent: the slot never waited for a claim
    assert claimed_at[FIRST] > claimed_at[0] and claimed_at[FIRST] < sent_at[FIRST - 1]


def test_a_failure_ends_the_batch_and_gives_back_what_was_not_started(
    site: Site, webhook: WebhookFake
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 5)
    site.ingest(T0)
    order = slot_order(site, "hook")
    webhook.faults.server_error(status=503, after=2)  # the third request fails

    report = dispatch(site.workspace, site.store, NINE)
    # the batch ended at the failure; what it gave back was claimed again and sent in the same round
    assert (report.count("sent"), report.count("retrying")) == (4, 1)
    assert site.store.get(order[2]).state is DeliveryState.RETRYING
    history = site.store.history(order[3])
    assert [t.to_state for t in history] == [
        DeliveryState.PLANNED,
        DeliveryState.SENDING,
        DeliveryState.PLANNED,
        DeliveryState.SENDING,
        DeliveryState.SENT,
    ]
    assert history[2].reason == (
        f"given back unsent by test-worker: {order[2]} before it in the channel ended retrying"
    )
    assert site.store.get(order[3]).attempts == 1  # given back: that claim was no attempt
    assert [d.body["delivery_id"] for d in webhook.deliveries] == order[:2] + order[3:]

    report = dispatch(site.workspace, site.store, NINE + timedelta(seconds=5))  # after the retry's backoff
    assert report.count("sent") == 1 and len(webhook.deliveries) == 5


def test_a_stop_ends_the_batch_after_the_send_in_flight(site: Site) -> None:
    with SlowWebhook(delay=0.4).running() as slow:
        assert isinstance(slow, SlowWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": slow.url}}))
        posts(site, 4, publish_at=DUE)
        site.ingest(real_now())

        async def stop_while_sending() -> DispatchReport:
            async with httpx.AsyncClient(timeout=5) as http:
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="stopping")
                round_ = asyncio.create_task(dispatcher.run_due(real_now()))
                await asyncio.sleep(0.2)  # the first post is at the receiver
                dispatcher.stop_claiming()
                try:
                    return await round_
                finally:
                    dispatcher.calls.close()

        report = asyncio.run(stop_while_sending())
        assert report.count("sent") == 1 and len(slow.requests) == 1
    first, *rest = (site.store.get(i) for i in slot_order(site, "hook"))
    assert first.state is DeliveryState.SENT
    assert {d.state for d in rest} == {DeliveryState.PLANNED}
    assert (
        site.store.history(rest[0].id)[-1].reason == "given back unsent by stopping: the service is stopping"
    )


class SlowReceipts(StoreCalls):
    """The real store thread, but recording receipts takes ``delay`` seconds longer (what a loaded store
    thread looks like to the event loop); ``recorded`` keeps when each recording finished."""

    def __init__(self, delay: float, *, fail: Exception | None = None) -> None:
        super().__init__()
        self.delay, self.fail, self.recorded = delay, fail, list[float]()

    async def __call__(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__name__", "") != "mark_sent_many":
            return await super().__call__(func, *args, **kwargs)
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        try:
            return await super().__call__(func, *args, **kwargs)
        finally:
            self.recorded.append(time.time())


def test_a_batch_frees_its_slot_with_its_last_send_not_its_last_record(
    site: Site, webhook: WebhookFake
) -> None:
    """With one slot, the second channel starts while the first one's receipts are still being recorded;
    the first channel stays busy (in ``sending``) until they are."""
    channels = {
        "a": {"network": "webhook", "url": webhook.url},
        "b": {"network": "webhook", "url": webhook.url},
    }
    site.write_config(config_text(channels, service={"concurrency": 1}))
    posts(site, 3, publish_at=DUE)
    site.ingest(real_now())
    calls = SlowReceipts(0.5)
    report = dispatch(site.workspace, site.store, calls=calls)
    assert report.count("sent") == 6
    by_channel = {
        name: [r.at for r in webhook.requests if r.body and name == r.json()["channel"]] for name in "ab"
    }
    first, second = sorted(by_channel.values(), key=min)
    assert max(first) < min(second)  # one slot: one channel after the other
    assert min(second) < min(calls.recorded)  # ... without waiting for the first one's receipts


def test_receipts_that_cannot_be_recorded_stay_in_sending_for_reconciliation(
    site: Site, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 3, publish_at=DUE)
    site.ingest(real_now())
    report = dispatch(site.workspace, site.store, calls=SlowReceipts(0, fail=OSError("disk I/O error")))
    assert report.count("sending") == 3 and len(webhook.deliveries) == 3
    assert {d.state for d in site.store.list()} == {DeliveryState.SENDING}
    lines = [r.getMessage() for r in caplog.records if "could not record the outcome" in r.getMessage()]
    assert len(lines) == 3 and all("reconciled: disk I/O error" in line for line in lines)


def test_a_dead_workers_batch_on_telegram_is_queued_again_without_a_request(
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
        posts(site, 3)
        site.ingest(T0)
        order = slot_order(site, "tg")
        dead = site.store.claim_due(NINE, worker="dead", lease=timedelta(seconds=1), limit=1, per_channel=3)
        assert [d.id for d in dead] == order  # it died before it sent anything

        later = NINE + timedelta(minutes=1)
        assert reconcile(site, later) == {order[0]: "retrying", order[1]: "planned", order[2]: "planned"}
        assert telegram.requests == []
        assert "never started" in site.store.history(order[1])[-1].reason

        assert dispatch(site.workspace, site.store, later).count("sent") == 3
        in_slot_order = [site.store.get(i).title for i in order]
        assert [m.text.splitlines()[0] for m in telegram.messages] == in_slot_order


def test_a_dead_workers_batch_on_a_webhook_is_completed_in_slot_order(
    site: Site, webhook: WebhookFake
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 3)
    site.ingest(T0)
    order = slot_order(site, "hook")
    site.store.claim_due(NINE, worker="dead", lease=timedelta(seconds=1), limit=1, per_channel=3)
    webhook.faults.server_error(status=503)  # the receiver cannot be asked about the first one yet

    later = NINE + timedelta(minutes=1)
    assert reconcile(site, later) == {order[0]: "sending"}  # the others wait behind it
    assert len(webhook.requests) == 1
    assert reconcile(site, later + timedelta(minutes=5)) == dict.fromkeys(order, "sent")
    assert [d.body["delivery_id"] for d in webhook.deliveries] == order


# --- the store thread -------------------------------------------------------------------------------------


def test_calls_waiting_together_share_one_transaction(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    posts(site, 1)
    site.ingest(T0)
    store = site.store
    [delivery] = store.list()
    begins: list[str] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement == "BEGIN IMMEDIATE":
            begins.append(statement)

    async def go() -> list[Any]:
        calls = StoreCalls()
        try:
            blocker = asyncio.ensure_future(calls(time.sleep, 0.3))  # not a store method: runs alone
            await asyncio.sleep(0.05)
            saves = [calls(store.save_journal, delivery.id, {"n": n}) for n in range(3)]
            return await asyncio.gather(blocker, *saves)
        finally:
            calls.close()

    asyncio.run(go())
    assert begins == ["BEGIN IMMEDIATE"]  # three writes, one transaction
    assert store.get(delivery.id).journal == {"n": 2}  # in the order they were made


def test_a_failing_call_in_a_group_fails_alone(site: Site) -> None:
    site.write_config(config_text({"out": {"network": "file"}}))
    posts(site, 1)
    site.ingest(T0)
    store = site.store
    [delivery] = store.list()

    async def go() -> list[Any]:
        calls = StoreCalls()
        try:
            blocker = asyncio.ensure_future(calls(time.sleep, 0.3))
            await asyncio.sleep(0.05)
            waiting = [
                calls(store.save_journal, delivery.id, {"before": True}),
                calls(store.mark_failed, delivery.id, reason="x", now=NINE),  # not claimed: a conflict
                calls(store.save_journal, delivery.id, {"after": True}),
            ]
            return await asyncio.gather(blocker, *waiting, return_exceptions=True)
        finally:
            calls.close()

    _, first, conflict, last = asyncio.run(go())
    assert first is None and last is None and isinstance(conflict, DeliveryConflict)
    assert store.get(delivery.id).journal == {"after": True}
    assert store.get(delivery.id).state is DeliveryState.PLANNED


# --- batch sizes ------------------------------------------------------------------------------------------


class CannotTell(Adapter):
    """An adapter that keeps the base ``reconcile`` (it cannot tell what went out)."""

    network = "cannot-tell"

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        raise NotImplementedError

    async def check(self) -> Identity:
        raise NotImplementedError


def test_batch_sizes_follow_each_channels_pace(site: Site) -> None:
    site.write_config(
        config_text({"out": {"network": "file"}, "hook": {"network": "webhook", "url": "http://x"}})
    )
    workspace: Workspace = site.workspace
    ahead = Ahead(workspace.settings)
    assert ahead.sizes() == {"out": FIRST, "hook": FIRST}  # not timed yet
    ahead.sent("out", HOLD.total_seconds() / 10)
    ahead.sent("hook", 0.000_001)
    assert ahead.sizes() == {"out": 10, "hook": MOST}
    ahead.sent("out", HOLD.total_seconds() * 5)  # much slower now: down to one at a time
    assert ahead.size("out") == 1
    assert ahead.size("gone") == 1  # not configured


def test_only_adapters_that_can_tell_what_went_out_get_batches() -> None:
    from scheduler.adapters.base import claims_ahead
    from scheduler.adapters.telegram import TelegramAdapter
    from scheduler.adapters.webhook import WebhookAdapter

    assert claims_ahead(WebhookAdapter) and claims_ahead(TelegramAdapter)
    assert not claims_ahead(CannotTell)
