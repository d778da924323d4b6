"""The alerts task with real alert channels on loopback: grouping, the hourly limit, a full queue, and alert
channels that are down. Assertions are on what the receivers got."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fakes.clock import ManualClock
from fakes.server import closed_url, notify_activity, wait_for_activity
from fakes.webhook import WebhookFake

from scheduler.alerts.alerter import QUEUE_SIZE, Alerter
from scheduler.alerts.limits import HourlyLimit
from scheduler.alerts.sender import AlertSender, alert_ids
from scheduler.config.loader import Workspace
from scheduler.service.events import DeliveryFailed, FailureKind

from .conftest import alerts_table, workspace_with


def failure(number: int, channel: str = "masto") -> DeliveryFailed:
    return DeliveryFailed(
        at=datetime.now(UTC),
        delivery_id=f"d-{number:02d}",
        channel=channel,
        source=f"posts/p{number}.md",
        attempt=1,
        kind=FailureKind.AUTH,
        reason="401 The access token is invalid",
        final=True,
    )


def alert_workspace(tmp_path: Path, channels: dict[str, str], **alerts: object) -> Workspace:
    """Webhook alert channels (name -> url) and the channel ``masto`` whose failures are reported."""
    config = "".join(
        f'[channels.{name}]\nnetwork = "webhook"\nurl = "{url}"\n' for name, url in channels.items()
    )
    config += '[channels.masto]\nnetwork = "mastodon"\nbase_url = "https://masto.example"\n'
    config += alerts_table(list(channels), **alerts)
    return workspace_with(tmp_path / "ws", config)


async def with_alerter(
    workspace: Workspace,
    body: Callable[[Alerter], Awaitable[None]],
    limit: HourlyLimit | None = None,
    clock: ManualClock | None = None,
    tally: Callable[[str, int], None] | None = None,
) -> Alerter:
    async with httpx.AsyncClient(timeout=5) as http:
        sender = AlertSender(workspace.settings, workspace.root, http)
        moved = {"clock": clock.monotonic, "sleep": clock.sleep} if clock is not None else {}
        counted = {"tally": tally} if tally is not None else {}
        alerter = Alerter(workspace.settings, sender, host="box", limit=limit, **moved, **counted)
        alerter.start()
        try:
            await body(alerter)
        finally:
            await alerter.close(timeout=10)
    return alerter


async def until(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Wait, off the loop, until ``condition`` holds: re-checked at each request a fake receives or answers
    and at each :func:`tallied` outcome; ``timeout`` only guards against a hang."""
    assert await asyncio.to_thread(wait_for_activity, condition, what, timeout=timeout), f"no {what}"


def tallied(tally: list[str]) -> Callable[[str, int], None]:
    """An alerter's ``tally`` that records each outcome and announces it to :func:`until`."""

    def record(outcome: str, count: int) -> None:
        tally.append(outcome)
        notify_activity()

    return record


def handle_one_failure(workspace: Workspace) -> list[str]:
    """The outcomes once one failure is offered and a manual clock moved past its one minute group window."""
    tally: list[str] = []
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    async def offer(alerter: Alerter) -> None:
        alerter.offer(failure(1))
        await clock.next_sleep()
        clock.advance(60)
        await until(lambda: tally != [], "the alert to be handled")

    asyncio.run(with_alerter(workspace, offer, clock=clock, tally=tallied(tally)))
    return tally


def texts(fake: WebhookFake) -> list[str]:
    return [delivery.body["parts"][0] for delivery in fake.deliveries]


def test_twenty_failures_of_one_channel_make_one_message(tmp_path: Path, webhook: WebhookFake) -> None:
    workspace = alert_workspace(tmp_path, {"ops": webhook.url}, group_window="5m")
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    async def body(alerter: Alerter) -> None:
        for number in range(20):
            alerter.offer(failure(number))
        await clock.next_sleep()  # all twenty taken in one group: the alerter sleeps until its window ends
        clock.advance(300)
        await until(lambda: len(webhook.deliveries) == 1, "the grouped alert")

    asyncio.run(with_alerter(workspace, body, clock=clock))
    [text] = texts(webhook)  # and nothing more came when the task stopped
    assert 'channel "masto" needs a person (20 problems)' in text
    assert "d-00" in text and "posts/p0.md" in text and "401 The access token is invalid" in text
    assert "… and 15 more failed" in text
    [delivery] = webhook.deliveries
    assert delivery.body["delivery_id"].startswith("alert-") and delivery.key.startswith("tagcast-alert-")


def test_what_is_still_grouped_at_shutdown_is_sent(tmp_path: Path, webhook: WebhookFake) -> None:
    workspace = alert_workspace(tmp_path, {"ops": webhook.url}, group_window="1h")

    async def body(alerter: Alerter) -> None:
        alerter.offer(failure(1))
        alerter.offer(failure(2, channel="tg"))

    asyncio.run(with_alerter(workspace, body))
    assert sorted(text.splitlines()[0] for text in texts(webhook)) == [
        'tagcast on box: channel "masto" needs a person (1 problem)',
        'tagcast on box: channel "tg" needs a person (1 problem)',
    ]


def test_past_the_hourly_limit_one_line_says_how_many_were_suppressed(
    tmp_path: Path, webhook: WebhookFake
) -> None:
    workspace = alert_workspace(tmp_path, {"ops": webhook.url}, group_window="1m", max_per_hour=2)
    clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    async def body(alerter: Alerter) -> None:
        for number, channel in enumerate(["a", "b", "c", "d", "e"]):  # one group per channel, in turn
            alerter.offer(failure(number, channel=channel))
            await clock.next_sleep()  # grouped: the alerter sleeps until the group's window ends
            clock.advance(60)
            if number < 2:
                await until(lambda n=number + 1: len(webhook.deliveries) == n, f"the alert about {channel}")
            else:
                await clock.next_sleep()  # held back: it sleeps until the hour has room again
        assert len(webhook.deliveries) == 2
        clock.advance(3600)
        await until(lambda: len(webhook.deliveries) == 3, "two alerts and the summary")

    asyncio.run(with_alerter(workspace, body, clock=clock))
    found = texts(webhook)
    assert len(found) == 3
    assert [text.split('"')[1] for text in found[:2]] == ["a", "b"]
    assert found[2] == (
        "tagcast on box: 3 more alerts suppressed in the last hour (alerts.max_per_hour = 2); "
        "run: tagcast status"
    )


def test_a_full_queue_drops_alerts_without_blocking_and_counts_them(
    tmp_path: Path, webhook: WebhookFake
) -> None:
    workspace = alert_workspace(tmp_path, {"ops": webhook.url}, group_window="1h")
    tally: list[tuple[str, int]] = []

    async def go() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            sender = AlertSender(workspace.settings, workspace.root, http)
            alerter = Alerter(workspace.settings, sender, host="box", tally=lambda r, n: tally.append((r, n)))
            for number in range(QUEUE_SIZE + 5):  # the task is not running: nothing takes them off
                alerter.offer(failure(number % 100))
            await alerter.close(timeout=10)

    asyncio.run(go())
    assert tally.count(("dropped", 1)) == 5
    grouped, summary = texts(webhook)  # the queued thousand as one message, then the dropped ones
    assert f"({QUEUE_SIZE} problems)" in grouped
    assert summary.startswith("tagcast on box: 5 more alerts suppressed")


def test_an_alert_channel_that_is_down_is_logged_and_the_others_still_get_it(
    tmp_path: Path, webhook: WebhookFake, caplog: pytest.LogCaptureFixture
) -> None:
    with WebhookFake(secret=None).running() as failing:
        failing.faults.server_error(status=500, times=100)
        dead = f"{closed_url()}/hooks/tagcast"
        workspace = alert_workspace(
            tmp_path, {"dead": dead, "failing": failing.url, "ops": webhook.url}, group_window="1m"
        )
        with caplog.at_level(logging.WARNING, logger="tagcast.alerts"):
            assert handle_one_failure(workspace) == ["sent"]
        assert len(failing.requests) == 1 and len(webhook.deliveries) == 1
    logged = caplog.text
    assert "alert not sent through channel dead" in logged
    assert "alert not sent through channel failing" in logged


def test_when_every_alert_channel_is_down_the_alert_counts_as_failed(tmp_path: Path) -> None:
    dead = f"{closed_url()}/hooks/tagcast"
    workspace = alert_workspace(tmp_path, {"dead": dead}, group_window="1m")
    assert handle_one_failure(workspace) == ["failed"]


def test_the_file_channel_can_carry_alerts(tmp_path: Path) -> None:
    config = '[channels.ops]\nnetwork = "file"\n' + alerts_table(["ops"], group_window="1h")
    workspace = workspace_with(tmp_path / "ws", config)
    asyncio.run(with_alerter(workspace, _offer_one))
    [written] = sorted((workspace.root / "var" / "outbox" / "ops").glob("alert-*.json"))
    assert "d-01" in json.loads(written.read_text(encoding="utf-8"))["parts"][0]


async def _offer_one(alerter: Alerter) -> None:
    alerter.offer(failure(1))


def test_alert_ids_are_stable_for_the_same_text_and_differ_by_salt() -> None:
    assert alert_ids("text", "a") == alert_ids("text", "a")
    assert alert_ids("text", "a") != alert_ids("text", "b")
    delivery_id, key = alert_ids("text")
    assert delivery_id.startswith("alert-") and len(delivery_id) == 18 and key.startswith("tagcast-alert-")
