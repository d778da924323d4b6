"""Every wait a server asks for is bounded: a 429 with ``Retry-After: 1e12``, a reset in the year 9999, a
negative, NaN, infinite or garbage value never crashes the recording of the outcome, never leaves a delivery
in ``sending``, is honoured (never called before it, even past ``service.backoff_max``) but never pauses a
channel past ``service.max_age``, and a wait past ``service.max_age`` fails the delivery saying so. End to
end: the service's dispatch against a loopback receiver, a real SQLite outbox, and ``tagcast serve --once``
as a process for start-up."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fakes.hostile import ScriptedWebhook
from fakes.mastodon import MastodonFake
from fakes.server import Reply
from service.conftest import DUE, Site, article, config_text, dispatch, real_now, reconcile
from service.processes import tagcast

from scheduler.store import DeliveryState

BACKOFF_MAX = timedelta(seconds=4)  # config_text's service.backoff_max
MAX_AGE = timedelta(days=2)  # the default service.max_age
PAST = DUE


@pytest.fixture
def receiver() -> Iterator[ScriptedWebhook]:
    with ScriptedWebhook().running() as fake:
        yield fake


def one_post(site: Site, receiver: ScriptedWebhook, *, publish_at: str, **service: object) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": receiver.url}}, service=service))
    site.write_post("p1.md", article("Post 1", publish_at=publish_at))
    site.ingest(real_now())


def just_now() -> str:
    return (real_now() - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def limited(**headers: str) -> Reply:
    return Reply.json({"error": "slow down"}, 429, headers)


FAR = [
    pytest.param({"Retry-After": "1e12"}, id="retry-after-1e12"),
    pytest.param({"Retry-After": "999999999"}, id="retry-after-31-years"),
    pytest.param({"Retry-After": "inf"}, id="retry-after-inf"),
    pytest.param({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, id="retry-after-year-9999"),
    pytest.param({"X-RateLimit-Reset": "99999999999999"}, id="reset-unix-far"),
    pytest.param({"X-RateLimit-Reset": "9999-12-31T23:59:59Z"}, id="reset-iso-9999"),
    pytest.param({"X-RateLimit-Reset": "1" + "0" * 400}, id="reset-400-digits"),
]


@pytest.mark.parametrize("headers", FAR)
def test_a_wait_past_max_age_fails_the_delivery_and_pauses_the_channel_at_most_max_age(
    site: Site, receiver: ScriptedWebhook, headers: dict[str, str]
) -> None:
    one_post(site, receiver, publish_at=just_now())  # service.max_age is the default, 2d
    receiver.script(limited(**headers))
    before = real_now()

    report = dispatch(site.workspace, site.store)

    assert report.count("failed") == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.FAILED
    assert "429" in (delivery.last_error or "")
    assert "the server asked to wait" in (delivery.last_error or "")
    assert "longer than service.max_age = " in (delivery.last_error or "")
    pause = site.store.paused()["hook"]
    assert pause.until is not None and pause.until <= real_now() + MAX_AGE
    assert pause.until >= before + MAX_AGE - timedelta(seconds=1)
    assert "cut to service.max_age = 2d" in pause.reason

    receiver.script(limited(**headers))  # the next serve goes on: nothing is stuck in sending
    later = dispatch(site.workspace, site.store, real_now() + timedelta(minutes=1))
    assert later.claimed == 0 and len(receiver.requests) == 1


def test_a_wait_longer_than_backoff_max_but_within_max_age_is_honoured(
    site: Site, receiver: ScriptedWebhook
) -> None:
    one_post(site, receiver, publish_at=just_now())
    receiver.script(limited(**{"Retry-After": "3600"}))

    at = real_now()
    dispatch(site.workspace, site.store, at)

    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.RETRYING
    assert delivery.next_attempt_at == at + timedelta(hours=1)  # never before the server's Retry-After
    assert "not before the server's 3600 s" in (delivery.last_error or "")
    pause = site.store.paused()["hook"]
    assert pause.until == at + timedelta(hours=1)


def test_the_default_max_age_is_checked_against_the_servers_wait(
    site: Site, receiver: ScriptedWebhook
) -> None:
    one_post(site, receiver, publish_at=PAST, max_age="1h", backoff_max="2h")
    planned = site.store.list()[0].scheduled_at
    receiver.script(limited(**{"Retry-After": "3000"}))

    dispatch(site.workspace, site.store, planned + timedelta(minutes=30))

    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.FAILED
    assert "the server asked to wait 50m, longer than service.max_age = 1h allows (30m left)" in (
        delivery.last_error or ""
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Retry-After": "-5"}, id="negative"),
        pytest.param({"Retry-After": "nan"}, id="nan"),
        pytest.param({"Retry-After": "soon, I promise"}, id="garbage"),
        pytest.param({"Retry-After": "Sun, 99 Foo 99999 99:99:99 GMT"}, id="broken-date"),
        pytest.param({"X-RateLimit-Reset": "-inf", "X-RateLimit-Remaining": "inf"}, id="reset-minus-inf"),
        pytest.param({"X-RateLimit-Reset": "0001-01-01T00:00:00-23:59"}, id="reset-year-1"),
        pytest.param({"Retry-After": "3", "Date": "Fri, 31 Dec 9999 23:59:59 GMT"}, id="date-9999"),
    ],
)
def test_a_wait_that_is_no_wait_retries_by_the_policy_without_pausing_long(
    site: Site, receiver: ScriptedWebhook, headers: dict[str, str]
) -> None:
    one_post(site, receiver, publish_at=PAST)
    receiver.script(limited(**headers))
    at = real_now()

    report = dispatch(site.workspace, site.store, at)

    assert report.count("retrying") == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.RETRYING
    assert delivery.next_attempt_at is not None and delivery.next_attempt_at <= at + BACKOFF_MAX
    pause = site.store.paused().get("hook")
    assert pause is None or (pause.until is not None and pause.until <= at + BACKOFF_MAX)


def test_a_used_up_quota_until_the_year_9999_pauses_the_channel_for_max_age_only(site: Site) -> None:
    with MastodonFake(rate_limit=1).running() as fake:
        fake.window_reset = datetime(9999, 12, 31, tzinfo=UTC).timestamp()
        channel = {"network": "mastodon", "base_url": fake.base_url, "token": "masto-token"}
        site.write_config(config_text({"masto": channel}))
        site.write_post("p1.md", article("Post 1", publish_at=PAST))
        at = real_now()
        site.ingest(at)

        dispatch(site.workspace, site.store, at)

    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.SENT
    pause = site.store.paused()["masto"]
    assert pause.until == at + MAX_AGE
    assert "rate-limit quota used up" in pause.reason


def test_reconciling_after_a_crash_with_a_far_retry_after_keeps_the_lease_within_max_age(
    site: Site, receiver: ScriptedWebhook
) -> None:
    one_post(site, receiver, publish_at=PAST)
    at = real_now()
    [claimed] = site.store.claim_due(at, worker="dead-worker", lease=timedelta(seconds=1), limit=1)
    receiver.script(limited(**{"Retry-After": "1e12"}))
    now = at + timedelta(seconds=5)
    assert reconcile(site, now) == {claimed.id: "sending"}
    [delivery] = site.store.list()
    assert delivery.lease_until is not None and delivery.lease_until <= now + MAX_AGE


def test_serve_starts_despite_stored_far_future_pauses_and_a_far_retry_after(
    site: Site, receiver: ScriptedWebhook
) -> None:
    site.write_config(
        config_text(
            {
                "hook": {"network": "webhook", "url": receiver.url},
                "held": {"network": "webhook", "url": receiver.url},
            }
        )
    )
    site.write_post("p1.md", article("Post 1", publish_at=PAST, channels=["hook"]))
    site.write_post("p2.md", article("Post 2", publish_at=PAST, channels=["held"]))
    at = real_now()
    site.ingest(at)
    far = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    site.store.pause_channel("held", until=far, reason="an old pause from before the bound", now=at)
    [claimed] = site.store.claim_due(at, worker="dead-worker", lease=timedelta(seconds=1), limit=1)
    assert claimed.channel == "hook"
    site.close()
    receiver.script(limited(**{"Retry-After": "1e12"}), times=3)

    result = tagcast("serve", "--once", cwd=site.root)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    states = {d.channel: d.state for d in site.store.list()}
    assert states == {"hook": DeliveryState.SENDING, "held": DeliveryState.PLANNED}


def test_serve_starts_despite_stored_times_that_cannot_be_read(site: Site, receiver: ScriptedWebhook) -> None:
    """A time in the outbox damaged by hand (or by another program) reads as long past and is logged:
    ``serve`` and ``status`` start instead of failing with a traceback, and ``queue resume`` clears it."""
    site.write_config(config_text({"hook": {"network": "webhook", "url": receiver.url}}))
    site.write_post("p1.md", article("Post 1", publish_at=PAST))
    at = real_now()
    site.ingest(at)
    site.store.pause_channel("hook", until=at + timedelta(days=1), reason="paused", now=at)
    site.close()
    with sqlite3.connect(site.root / "var" / "tagcast.db") as db:
        db.execute("UPDATE channel_pauses SET until = 'next tuesday-ish'")
        db.execute("UPDATE deliveries SET created_at = '2026-99-99 99:99:99'")
    receiver.script(Reply.json({"ok": True}, 200), times=1)

    started = tagcast("serve", "--once", cwd=site.root)
    status = tagcast("status", cwd=site.root)
    resumed = tagcast("queue", "resume", "hook", cwd=site.root)
    sent = tagcast("serve", "--once", cwd=site.root)

    for result in (started, status, resumed, sent):
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert "cannot be read: it is taken as long past" in started.stderr
    assert [d.state for d in site.store.list()] == [DeliveryState.SENT]
    assert len(receiver.requests) == 1
