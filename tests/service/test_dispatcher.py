"""The dispatcher against real HTTP: loopback webhook receivers (dedupe by Idempotency-Key) and the Telegram
fake. Assertions are on what the receivers got and on the outbox's states and history."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fakes.clock import ManualClock
from fakes.server import Reply, Request, wait_for_activity
from fakes.telegram import TelegramFake
from fakes.webhook import GUARD, HeldWebhook, WebhookFake
from sqlalchemy import Connection, event

from scheduler.adapters.base import Outgoing
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.outcomes import Outcome
from scheduler.store import DeliveryState
from scheduler.store.dialect import WRITE_OPTION

from .conftest import DUE, Site, article, config_text, dispatch, real_now

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def round_in_flight(
    dispatcher: Dispatcher, now: datetime, *held: HeldWebhook
) -> AsyncIterator[asyncio.Task[DispatchReport]]:
    """``dispatcher.run_due(now)`` running while the block holds requests at ``held``; afterwards (also when
    an assertion failed) every hold is released, the round finished and the store thread closed."""
    round_ = asyncio.create_task(dispatcher.run_due(now))
    try:
        yield round_
    finally:
        for receiver in held:
            receiver.release.set()
        await asyncio.gather(round_, return_exceptions=True)
        dispatcher.calls.close()


def slot(hour: int, minute: int = 0) -> str:
    return f"2026-01-05T{hour:02d}:{minute:02d}:00Z"


def two_hooks(site: Site, webhook: WebhookFake, other: WebhookFake, **service: object) -> None:
    site.write_config(
        config_text(
            {
                "hook": {"network": "webhook", "url": webhook.url},
                "other": {"network": "webhook", "url": other.url},
            },
            service=service,
        )
    )


def test_sends_what_is_due_in_slot_order_and_records_the_receipts(
    site: Site, webhook: WebhookFake, other_webhook: WebhookFake
) -> None:
    two_hooks(site, webhook, other_webhook)
    for number, hour in ((3, 11), (1, 9), (2, 10)):
        site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=slot(hour)))
    site.ingest(T0)
    store = site.store

    early = dispatch(site.workspace, store, T0 + timedelta(minutes=59, seconds=59))
    assert early.claimed == 0 and webhook.requests == []

    report = dispatch(site.workspace, store, datetime(2026, 1, 5, 11, 0, tzinfo=UTC))
    assert report.count("sent") == 6
    assert {type(v) for v in report.outcomes.values()} == {Outcome}  # one enum, not strings
    for fake in (webhook, other_webhook):
        titles = [d.body["article"]["title"] for d in fake.deliveries]
        assert titles == ["Post 1", "Post 2", "Post 3"]  # one channel: in slot order
    for delivery in store.list(channel="hook"):
        received = next(d for d in webhook.deliveries if d.body["delivery_id"] == delivery.id)
        assert delivery.state is DeliveryState.SENT
        assert received.key == delivery.idempotency_key
        assert received.body["parts"] == list(delivery.parts)  # exactly as stored
        assert delivery.remote_ids == (received.id,)
        assert delivery.remote_url == f"{webhook.base_url}/deliveries/{received.id}"
        assert [t.to_state for t in store.history(delivery.id)] == [
            DeliveryState.PLANNED,
            DeliveryState.SENDING,
            DeliveryState.SENT,
        ]


def test_a_rate_limited_channel_pauses_and_others_go_on(
    site: Site, webhook: WebhookFake, other_webhook: WebhookFake
) -> None:
    two_hooks(site, webhook, other_webhook)
    for number in (1, 2, 3):
        site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=DUE))
    site.ingest(real_now())
    webhook.faults.rate_limited(wait=1.0)

    start = real_now()
    first = dispatch(site.workspace, site.store, start)
    assert len(other_webhook.deliveries) == 3  # the other channel went on
    assert first.count("retrying") == 1 and len(webhook.requests) == 1
    pause = site.store.paused(start)["hook"]
    assert "rate limited" in pause.reason and pause.until == start + timedelta(seconds=1)  # Retry-After: 1
    [limited] = site.store.list(channel="hook", states=[DeliveryState.RETRYING])
    assert "429" in (limited.last_error or "")

    just_before = start + timedelta(milliseconds=999)
    assert dispatch(site.workspace, site.store, just_before).claimed == 0  # nothing before the reset
    assert len(webhook.requests) == 1
    assert dispatch(site.workspace, site.store, start + timedelta(seconds=1)).count("sent") == 3
    assert len(webhook.deliveries) == 3
    assert {d.state for d in site.store.list()} == {DeliveryState.SENT}
    queue_order = [d.id for d in site.store.list(channel="hook")]  # by slot, then id
    assert [d.body["delivery_id"] for d in webhook.deliveries] == queue_order  # the order survived the pause


def test_rejected_credentials_pause_the_channel_and_say_how_to_fix_it(
    site: Site,
    other_webhook: WebhookFake,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("TAGCAST_CHANNELS__HOOK__SECRET", "whsec-wrong-value")
    with WebhookFake(secret="whsec-good").running() as signed:
        assert isinstance(signed, WebhookFake)
        two_hooks(site, signed, other_webhook)
        for number in (1, 2):
            site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=DUE))
        site.ingest(real_now())
        with caplog.at_level(logging.INFO, logger="tagcast.service"):
            dispatch(site.workspace, site.store)
            dispatch(site.workspace, site.store)
        assert len(signed.requests) == 1  # the second post of the channel waits
    assert len(other_webhook.deliveries) == 2

    pause = site.store.paused()["hook"]
    assert pause.until is None
    for needed in (
        "TAGCAST_CHANNELS__HOOK__SECRET",
        "tagcast channels test hook",
        "tagcast queue resume hook",
    ):
        assert needed in pause.reason
    states = sorted(d.state.value for d in site.store.list(channel="hook"))
    assert states == ["failed", "planned"]
    [failed] = site.store.list(channel="hook", states=[DeliveryState.FAILED])
    assert "401" in (failed.last_error or "") and f"tagcast queue retry {failed.id}" in (
        failed.last_error or ""
    )
    everything = caplog.text + pause.reason + "".join(t.reason for t in site.store.history(failed.id))
    assert "whsec-wrong-value" not in everything


def test_a_5xx_is_retried_with_the_same_key_and_posted_once(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    webhook.faults.server_error(status=503)
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    assert dispatch(site.workspace, site.store, at).count("retrying") == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.RETRYING and delivery.next_attempt_at is not None
    assert timedelta(seconds=0.5) <= delivery.next_attempt_at - at <= timedelta(seconds=1)
    assert dispatch(site.workspace, site.store, at + timedelta(milliseconds=400)).claimed == 0
    assert dispatch(site.workspace, site.store, at + timedelta(seconds=2)).count("sent") == 1

    assert len(webhook.requests) == 2 and len(webhook.deliveries) == 1
    assert {r.headers["idempotency-key"] for r in webhook.requests} == {delivery.idempotency_key}
    assert site.store.get(delivery.id).attempts == 2


def test_transient_failures_give_up_after_max_attempts(site: Site, webhook: WebhookFake) -> None:
    site.write_config(
        config_text({"hook": {"network": "webhook", "url": webhook.url}}, service={"max_attempts": 2})
    )
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    webhook.faults.server_error(status=502, times=5)
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    dispatch(site.workspace, site.store, at)
    dispatch(site.workspace, site.store, at + timedelta(seconds=5))
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.FAILED
    assert "max_attempts = 2" in (delivery.last_error or "")


def test_a_permanent_refusal_fails_at_once_with_the_servers_reason(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    webhook.faults.server_error(status=422)
    dispatch(site.workspace, site.store, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.FAILED
    assert "422" in (delivery.last_error or "") and "Internal server error" in (delivery.last_error or "")
    assert "hook" not in site.store.paused()
    assert len(webhook.requests) == 1


def test_a_lost_answer_on_a_network_without_keys_is_unknown_and_never_resent(
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
        site.write_post("p.md", article("Post", publish_at=slot(9)))
        site.ingest(T0)
        telegram.faults.commit_then_drop()
        at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        assert dispatch(site.workspace, site.store, at).count("unknown") == 1
        assert dispatch(site.workspace, site.store, at + timedelta(hours=1)).claimed == 0
        assert len(telegram.messages) == 1  # it was posted once, and not again
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.UNKNOWN
    assert f"tagcast queue resolve {delivery.id}" in (delivery.last_error or "")


def test_an_unexpected_adapter_error_keeps_the_row_for_a_retry(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    # a URL the config accepts (an http URL with a host) and httpx refuses: the adapter raises InvalidURL
    site.write_config(config_text({"hook": {"network": "webhook", "url": "http://\u2603.example/broken"}}))
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    with caplog.at_level(logging.ERROR, logger="tagcast.service"):
        report = dispatch(site.workspace, site.store, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert report.count("retrying") == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.RETRYING
    assert "InvalidURL" in (delivery.last_error or "") and "a bug" in (delivery.last_error or "")
    assert "Traceback" in caplog.text and delivery.id in caplog.text


def test_a_channel_gone_from_the_config_keeps_its_posts_waiting(
    site: Site, webhook: WebhookFake, other_webhook: WebhookFake
) -> None:
    two_hooks(site, webhook, other_webhook)
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    report = dispatch(site.workspace, site.store, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert report.count("sent") == 1 and report.count("retrying") == 1
    [waiting] = site.store.list(channel="other")
    assert waiting.state is DeliveryState.RETRYING
    assert "no longer in the config" in site.store.paused()["other"].reason
    assert other_webhook.requests == []


class SlowWebhook(WebhookFake):
    """A receiver that takes ``delay`` seconds to answer: half before it acts on a request (which is logged
    on arrival), half after, before the answer leaves. The sleeps stand in for a slow network: they delay the
    answer and decide no outcome (the tests wait on events, not on this delay)."""

    def __init__(self, delay: float) -> None:
        super().__init__(secret=None)
        self.delay = delay

    def _locked_route(self, request: Request) -> Reply:
        time.sleep(self.delay / 2)
        reply = super()._locked_route(request)
        time.sleep(self.delay / 2)
        return reply


LEASE_30S = timedelta(seconds=30)


@contextlib.contextmanager
def one_post_to_a_held_receiver(site: Site) -> Iterator[tuple[HeldWebhook, ManualClock]]:
    """One post due on a webhook channel with a 30 s lease, whose receiver holds each request until
    released, and the manual clock the dispatcher is to run on."""
    with HeldWebhook().running() as held:
        assert isinstance(held, HeldWebhook)
        site.write_config(
            config_text({"hook": {"network": "webhook", "url": held.url}}, service={"lease": "30s"})
        )
        site.write_post("p.md", article("Post", publish_at=DUE))
        site.ingest(real_now())
        yield held, ManualClock(real_now())


@contextlib.asynccontextmanager
async def send_held_in_flight(
    site: Site, held: HeldWebhook, clock: ManualClock
) -> AsyncIterator[asyncio.Task[DispatchReport]]:
    """The dispatcher's round, once its send has reached ``held`` and every task waits on ``clock``."""
    async with httpx.AsyncClient(timeout=30) as http:
        dispatcher = Dispatcher(
            site.workspace, site.store, http, worker_id="w1", clock=clock.now, sleep=clock.sleep
        )
        async with round_in_flight(dispatcher, clock.now(), held) as round_:
            assert await asyncio.to_thread(held.arrived.wait, GUARD)  # the send is in flight
            await clock.sleeping_past_now()
            yield round_


def test_the_lease_is_renewed_while_a_slow_send_is_in_flight(site: Site) -> None:
    """The send is held at the receiver while the test moves the dispatcher's clock two leases on, a third
    of a lease at a time: the claim never becomes claimable by another worker."""
    with one_post_to_a_held_receiver(site) as (held, clock):

        async def scenario() -> DispatchReport:
            async with send_held_in_flight(site, held, clock) as round_:
                [sending] = site.store.list(states=[DeliveryState.SENDING])
                assert [d.id for d in site.store.stale_sending(clock.now() + LEASE_30S)] == [sending.id]
                for _third in range(6):
                    clock.advance(LEASE_30S.total_seconds() / 3)
                    await clock.next_sleep()  # the renewal ran, and its task sleeps again
                    assert site.store.stale_sending(clock.now()) == []
                held.release.set()
                return await round_

        report = asyncio.run(scenario())
        assert report.count("sent") == 1
        assert len(held.requests) == 1


def test_a_renewal_due_as_the_send_ends_never_lands_after_the_receipt(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """The send ends at the instant its lease is due for renewal: the renewal is cancelled (not waited for)
    or runs before the receipt, never after it (it would find the post sent and log a lost claim)."""
    with one_post_to_a_held_receiver(site) as (held, clock):

        async def scenario() -> DispatchReport:
            async with send_held_in_flight(site, held, clock) as round_:
                clock.advance(LEASE_30S.total_seconds() / 3)  # the renewal wakes...
                held.release.set()  # ...as the answer comes
                return await round_

        with caplog.at_level(logging.INFO, logger="tagcast"):
            report = asyncio.run(scenario())
        assert report.count("sent") == 1
        [sent] = site.store.list(states=[DeliveryState.SENT])
        assert (sent.claimed_by, sent.lease_until) == (None, None)
        assert [t.to_state for t in site.store.history(sent.id)] == [
            DeliveryState.PLANNED,
            DeliveryState.SENDING,
            DeliveryState.SENT,
        ]
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_channels_send_in_parallel_within_the_concurrency_bound(site: Site) -> None:
    """Both receivers hold their first request: both arrive while neither is answered (the channels send in
    parallel), and neither channel sends its second post while its first is unanswered."""
    with HeldWebhook().running() as a, HeldWebhook().running() as b:
        assert isinstance(a, HeldWebhook) and isinstance(b, HeldWebhook)
        site.write_config(
            config_text(
                {"a": {"network": "webhook", "url": a.url}, "b": {"network": "webhook", "url": b.url}},
                service={"concurrency": 2},
            )
        )
        for number in (1, 2):
            site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=DUE))
        site.ingest(real_now())

        async def scenario() -> DispatchReport:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(site.workspace, site.store, http, worker_id="w1")
                async with round_in_flight(dispatcher, real_now(), a, b) as round_:
                    for held in (a, b):
                        assert await asyncio.to_thread(held.arrived.wait, GUARD)
                    assert (len(a.requests), len(b.requests)) == (1, 1)  # one at a time in a channel
                    a.release.set()
                    b.release.set()
                    return await round_

        assert asyncio.run(scenario()).count("sent") == 4
    assert len(a.deliveries) == 2 and len(b.deliveries) == 2


def test_a_post_claimed_within_the_lead_goes_out_at_its_instant_not_before(
    site: Site, webhook: WebhookFake
) -> None:
    """The service claims up to ``lead`` before the due instant (so the claim's commit is done by then) and
    publishes at the instant: the receiver has nothing until the test moves the clock to it."""
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.write_post("q.md", article("Later", publish_at=slot(9, 1)))
    site.ingest(T0)
    nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    clock = ManualClock(nine - timedelta(milliseconds=10))

    async def scenario() -> DispatchReport:
        async with httpx.AsyncClient(timeout=30) as http:
            dispatcher = Dispatcher(
                site.workspace,
                site.store,
                http,
                worker_id="w1",
                clock=clock.now,
                sleep=clock.sleep,
                lead=timedelta(milliseconds=20),
            )
            round_ = asyncio.create_task(dispatcher.run_due(clock.now()))
            try:
                await clock.sleeping_past_now()  # claimed, and waiting for its instant
                assert [d.source for d in site.store.list(states=[DeliveryState.SENDING])] == ["posts/p.md"]
                assert webhook.requests == []
                clock.advance(0.01)
                return await round_
            finally:
                round_.cancel()
                await asyncio.gather(round_, return_exceptions=True)
                dispatcher.calls.close()

    report = asyncio.run(scenario())
    assert report.count(Outcome.SENT) == 1 and len(webhook.deliveries) == 1
    assert [d.state for d in site.store.list()] == [DeliveryState.SENT, DeliveryState.PLANNED]


def test_what_prepare_returns_is_published_and_its_errors_settle_like_the_adapters(
    site: Site, webhook: WebhookFake
) -> None:
    """The seam for images and cards: ``prepare`` runs right before ``publish`` and its post is what goes out;
    a transient error raised there is retried like a network's, a permanent one fails with its reason."""
    site.write_config(
        config_text(
            {
                "hook": {"network": "webhook", "url": webhook.url},
                "other": {"network": "webhook", "url": webhook.url},
            }
        )
    )
    site.write_post("p.md", article("Post", publish_at=slot(9)))
    site.ingest(T0)
    [on_hook, on_other] = sorted(site.store.list(), key=lambda d: d.channel)
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    async def prepare(post: Outgoing) -> Outgoing:
        if post.channel == "other":
            raise TransientDeliveryError("the image server answered 503", retry_after=None)
        return dataclasses.replace(post, parts=(post.parts[0] + " [prepared]",))

    async def go() -> DispatchReport:
        async with httpx.AsyncClient(timeout=5) as http:
            dispatcher = Dispatcher(
                site.workspace, site.store, http, worker_id="w1", clock=lambda: at, prepare=prepare
            )
            try:
                return await dispatcher.run_due(at)
            finally:
                dispatcher.calls.close()

    report = asyncio.run(go())
    assert report.outcomes == {on_hook.id: Outcome.SENT, on_other.id: Outcome.RETRYING}
    [received] = webhook.deliveries
    assert received.body["parts"] == [on_hook.parts[0] + " [prepared]"]
    retrying = site.store.get(on_other.id)
    assert retrying.last_error is not None and "the image server answered 503" in retrying.last_error

    async def refuse(post: Outgoing) -> Outgoing:
        raise PermanentDeliveryError("image.png is 40 MB; this network takes at most 8 MB")

    site.store.resume_channel("other")
    later = at + timedelta(hours=1)

    async def again() -> DispatchReport:
        async with httpx.AsyncClient(timeout=5) as http:
            dispatcher = Dispatcher(
                site.workspace, site.store, http, worker_id="w1", clock=lambda: later, prepare=refuse
            )
            try:
                return await dispatcher.run_due(later)
            finally:
                dispatcher.calls.close()

    assert asyncio.run(again()).outcomes == {on_other.id: Outcome.FAILED}
    assert site.store.get(on_other.id).last_error == "image.png is 40 MB; this network takes at most 8 MB"
    assert len(webhook.requests) == 1


def test_a_post_of_another_channel_goes_out_at_its_instant_while_a_send_is_in_flight(
    site: Site, webhook: WebhookFake
) -> None:
    """Channel ``a``'s receiver holds its post; ``b``'s post falls due five seconds later. The round claims
    and sends ``b``'s at its instant, while ``a``'s is still unanswered, not once ``a``'s send ends."""
    with HeldWebhook().running() as held:
        assert isinstance(held, HeldWebhook)
        site.write_config(
            config_text(
                {
                    "a": {"network": "webhook", "url": held.url},
                    "b": {"network": "webhook", "url": webhook.url},
                },
                service={"concurrency": 4},
            )
        )
        nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        site.write_post("p.md", article("First", publish_at=slot(9), channels=["a"]))
        site.write_post("q.md", article("Second", publish_at="2026-01-05T09:00:05Z", channels=["b"]))
        site.ingest(T0)
        clock = ManualClock(nine)

        async def scenario() -> DispatchReport:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(
                    site.workspace, site.store, http, worker_id="w1", clock=clock.now, sleep=clock.sleep
                )
                async with round_in_flight(dispatcher, clock.now(), held) as round_:
                    assert await asyncio.to_thread(held.arrived.wait, GUARD)  # a's send is in flight
                    await clock.sleeping_past_now()  # the round waits for b's instant
                    assert webhook.requests == []
                    clock.advance(5)
                    arrived = await asyncio.to_thread(
                        wait_for_activity, lambda: len(webhook.deliveries) == 1, "b's post", timeout=GUARD
                    )
                    assert arrived and held.release.is_set() is False  # b's went out while a's was held
                    held.release.set()
                    return await round_

        report = asyncio.run(scenario())
    assert report.count(Outcome.SENT) == 2
    assert len(held.deliveries) == 1 and len(webhook.deliveries) == 1


def test_a_reload_takes_the_new_lease_and_retry_policy(site: Site, webhook: WebhookFake) -> None:
    """A dispatcher built with ``lease = 1m``, ``max_attempts = 5`` is reloaded with ``7m`` and ``1``: the
    next claim is leased for 7 minutes, and a transient failure now gives up at once."""
    with HeldWebhook().running() as held:
        assert isinstance(held, HeldWebhook)
        hooks = {
            "held": {"network": "webhook", "url": held.url},
            "hook": {"network": "webhook", "url": webhook.url},
        }
        site.write_config(config_text(hooks, service={"lease": "1m", "max_attempts": 5}))
        site.write_post("p.md", article("Held", publish_at=slot(9), channels=["held"]))
        site.write_post("q.md", article("Failing", publish_at=slot(9), channels=["hook"]))
        site.ingest(T0)
        webhook.faults.server_error(status=502)
        nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        clock = ManualClock(nine)

        async def scenario() -> DispatchReport:
            async with httpx.AsyncClient(timeout=30) as http:
                dispatcher = Dispatcher(
                    site.workspace, site.store, http, worker_id="w1", clock=clock.now, sleep=clock.sleep
                )
                site.write_config(config_text(hooks, service={"lease": "7m", "max_attempts": 1}))
                dispatcher.reload(site.workspace)
                async with round_in_flight(dispatcher, clock.now(), held) as round_:
                    assert await asyncio.to_thread(held.arrived.wait, GUARD)
                    [sending] = site.store.list(channel="held")
                    assert sending.lease_until == nine + timedelta(minutes=7)
                    held.release.set()
                    return await round_

        report = asyncio.run(scenario())
    assert (report.count(Outcome.SENT), report.count(Outcome.FAILED)) == (1, 1)
    [failed] = site.store.list(channel="hook")
    assert "max_attempts = 1" in (failed.last_error or "")


def test_after_a_downtime_the_late_posts_are_named_ten_then_summed_up(
    site: Site, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    """25 posts of 25 channels go out two hours late in one round: ten lines name a post each, one line sums
    up the other fifteen (not 25 lines)."""
    channels = {f"c{n:02d}": {"network": "webhook", "url": webhook.url} for n in range(25)}
    site.write_config(config_text(channels, service={"concurrency": 4}))
    for name in channels:
        site.write_post(f"{name}.md", article(f"Post {name}", publish_at=slot(9), channels=[name]))
    site.ingest(T0)
    eleven = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)

    with caplog.at_level(logging.WARNING, logger="tagcast.service"):
        assert dispatch(site.workspace, site.store, eleven, clock=lambda: eleven).count(Outcome.SENT) == 25
    named = [r.getMessage() for r in caplog.records if "going out 2h late" in r.getMessage()]
    summed = [r.getMessage() for r in caplog.records if "more post(s) went out late" in r.getMessage()]
    assert len(named) == 10
    assert summed == [
        "... and 15 more post(s) went out late in this round, up to 2h late "
        "(`tagcast queue list --state sent` lists them)"
    ]


def test_a_post_costs_one_write_transaction_its_receipt_claims_the_next(
    site: Site, webhook: WebhookFake
) -> None:
    """Six posts of one channel: the round's first claim, then six receipts each claiming the next post in
    its own commit (the last finds nothing), then the round's last look: eight write transactions, where a
    claim and a receipt apiece would take thirteen."""
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    for number in range(6):
        site.write_post(f"p{number}.md", article(f"Post {number}", publish_at=slot(9, number)))
    site.ingest(T0)
    writes: list[str] = []

    @event.listens_for(site.store.engine, "begin")
    def count(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_OPTION):
            writes.append("write")

    report = dispatch(site.workspace, site.store, datetime(2026, 1, 5, 9, 5, tzinfo=UTC))
    assert report.count(Outcome.SENT) == 6
    assert [d.body["article"]["title"] for d in webhook.deliveries] == [f"Post {n}" for n in range(6)]
    assert len(writes) == 8
