"""Batches end to end, against loopback fakes: a channel's due posts claimed at once and sent one at a time in
slot order; a failure or a stop gives back what was not started; a dead worker's batch is reconciled in slot
order, and what surely never started is queued again without a network call. Also the store thread's group
commit and the batch sizes."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fakes.server import Reply, Request
from fakes.telegram import TelegramFake
from fakes.webhook import GUARD, HeldWebhook, WebhookFake
from sqlalchemy import event

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.config.loader import Workspace
from scheduler.service.ahead import FIRST, HOLD, MOST, Ahead
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.storecalls import StoreCalls
from scheduler.store import DeliveryConflict, DeliveryState

from .conftest import DUE, Site, article, config_text, dispatch, real_now
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
    with HeldWebhook().running() as slow:
        assert isinstance(slow, HeldWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": slow.url}}))
        posts(site, 4, publish_at=DUE)
        site.ingest(real_now())

        async def stop_while_sending() -> DispatchReport:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="stopping")
                round_ = asyncio.create_task(dispatcher.run_due(real_now()))
                try:
                    assert await asyncio.to_thread(slow.arrived.wait, GUARD)  # the first post is in flight
                    dispatcher.stop_claiming()
                    slow.release.set()
                    return await round_
                finally:
                    slow.release.set()
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
    """The real store thread, but recording receipts waits until ``until`` is set (what a loaded store
    thread looks like to the event loop), and may then fail with ``fail``; ``waited`` keeps whether each
    recording saw ``until`` set (False: it gave up after the guard)."""

    def __init__(self, *, until: threading.Event | None = None, fail: Exception | None = None) -> None:
        super().__init__()
        self.until, self.fail, self.waited = until, fail, list[bool]()

    async def __call__(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        if getattr(func, "__name__", "") != "mark_sent_many":
            return await super().__call__(func, *args, **kwargs)
        if self.until is not None:
            self.waited.append(await asyncio.to_thread(self.until.wait, GUARD))
        if self.fail is not None:
            raise self.fail
        return await super().__call__(func, *args, **kwargs)


class TwoChannelWebhook(WebhookFake):
    """A receiver that sets ``second_began`` when a request of a second channel arrives."""

    def __init__(self) -> None:
        super().__init__(secret=None)
        self.channels: list[str] = []
        self.second_began = threading.Event()

    def _locked_route(self, request: Request) -> Reply:
        with self.lock:
            channel = request.json()["channel"]
            if self.channels and channel != self.channels[0]:
                self.second_began.set()
            self.channels.append(channel)
        return super()._locked_route(request)


def test_a_batch_frees_its_slot_with_its_last_send_not_its_last_record(site: Site) -> None:
    """With one slot, the second channel starts while the first one's receipts are still being recorded
    (they are held until it has); the first channel stays busy (in ``sending``) until they are."""
    with TwoChannelWebhook().running() as webhook:
        assert isinstance(webhook, TwoChannelWebhook)
        channels = {
            "a": {"network": "webhook", "url": webhook.url},
            "b": {"network": "webhook", "url": webhook.url},
        }
        site.write_config(config_text(channels, service={"concurrency": 1}))
        posts(site, 3, publish_at=DUE)
        site.ingest(real_now())
        calls = SlowReceipts(until=webhook.second_began)
        report = dispatch(site.workspace, site.store, calls=calls)
    assert report.count("sent") == 6
    first, second = webhook.channels[0], next(c for c in webhook.channels if c != webhook.channels[0])
    assert webhook.channels == [first] * 3 + [second] * 3  # one slot: one channel after the other
    assert calls.waited and all(calls.waited)  # ... without waiting for the first one's receipts


def test_receipts_that_cannot_be_recorded_stay_in_sending_for_reconciliation(
    site: Site, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    posts(site, 3, publish_at=DUE)
    site.ingest(real_now())
    report = dispatch(site.workspace, site.store, calls=SlowReceipts(fail=OSError("disk I/O error")))
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


class Gate:
    """A call that keeps the store thread busy until the test releases it (``entered`` once it runs)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        self.release.wait(GUARD)


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
            gate = Gate()
            blocker = asyncio.ensure_future(calls(gate.hold))  # not a store method: runs alone
            assert await asyncio.to_thread(gate.entered.wait, GUARD)  # the store thread is busy
            saves = [
                asyncio.ensure_future(calls(store.save_journal, delivery.id, {"n": n})) for n in range(3)
            ]
            await asyncio.sleep(0)  # one turn of the loop: each of them is queued now
            gate.release.set()
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
            gate = Gate()
            blocker = asyncio.ensure_future(calls(gate.hold))
            assert await asyncio.to_thread(gate.entered.wait, GUARD)
            waiting = [
                asyncio.ensure_future(calls(store.save_journal, delivery.id, {"before": True})),
                # not claimed: a conflict
                asyncio.ensure_future(calls(store.mark_failed, delivery.id, reason="x", now=NINE)),
                asyncio.ensure_future(calls(store.save_journal, delivery.id, {"after": True})),
            ]
            await asyncio.sleep(0)  # one turn of the loop: each of them is queued now
            gate.release.set()
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
