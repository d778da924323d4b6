"""The ``token_expiring`` alert: ``tagcast serve``'s daily look at the tokens (:func:`watch_tokens`) asks a
Facebook adapter against its fake when the token expires, records it in a real outbox, and a webhook alert
channel gets one alert per expiry. The clock is injected (``now``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakes.facebook import FacebookFake
from fakes.webhook import WebhookFake

from scheduler.adapters.base import Adapter
from scheduler.adapters.registry import load_adapter
from scheduler.alerts.alerter import Alerter
from scheduler.alerts.sender import AlertSender
from scheduler.config.loader import Workspace
from scheduler.service.storecalls import StoreCalls
from scheduler.service.token_watch import watch_tokens
from scheduler.store import Store

from .conftest import alerts_table, workspace_with

NOW = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
TOKEN = "fb-alert-secret-7"


@pytest.fixture
def facebook() -> Iterator[FacebookFake]:
    with FacebookFake(token=TOKEN).running() as fake:
        yield fake


def token_workspace(
    tmp_path: Path, facebook: FacebookFake, webhook: WebhookFake, **alerts: object
) -> Workspace:
    config = (
        f'[channels.ops]\nnetwork = "webhook"\nurl = "{webhook.url}"\n'
        f'[channels.fbpage]\nnetwork = "facebook"\npage_id = "{facebook.page_id}"\n'
        f'base_url = "{facebook.api_url}"\n'
    )
    config += alerts_table(["ops"], group_window="1h", **alerts)
    return workspace_with(tmp_path / "ws", config, env={"TAGCAST_CHANNELS__FBPAGE__TOKEN": TOKEN})


def watch_twice(workspace: Workspace, times: list[datetime]) -> list[list[str]]:
    """Run the daily look at each of ``times`` with the alerts task running; what each alerted about."""
    warning = workspace.settings.alerts.token_warning

    async def run() -> list[list[str]]:
        calls = StoreCalls()
        async with httpx.AsyncClient(timeout=10) as http:
            alerter = Alerter(
                workspace.settings, AlertSender(workspace.settings, workspace.root, http), host="box"
            )
            alerter.start()
            settings = workspace.settings.channels["fbpage"]
            adapter: Adapter = load_adapter("facebook")("fbpage", settings, http=http, root=workspace.root)
            try:
                with Store.open("sqlite:///var/tagcast.db", root=workspace.root) as store:
                    return [
                        await watch_tokens(
                            {"fbpage": adapter}, store, calls, alerter.offer, now=now, warning=warning
                        )
                        for now in times
                    ]
            finally:
                await alerter.close(timeout=10)
                calls.close()

    return asyncio.run(run())


def texts(webhook: WebhookFake) -> list[str]:
    return [delivery.body["parts"][0] for delivery in webhook.deliveries]


def test_a_token_expiring_in_3_days_is_alerted_once(
    tmp_path: Path, facebook: FacebookFake, webhook: WebhookFake
) -> None:
    facebook.token_expires_at = int((NOW + timedelta(days=3)).timestamp())
    workspace = token_workspace(tmp_path, facebook, webhook)
    assert watch_twice(workspace, [NOW, NOW + timedelta(days=1)]) == [["fbpage"], []]
    [text] = texts(webhook)
    assert text.splitlines()[0] == 'tagcast on box: channel "fbpage" needs a person (1 problem)'
    assert (
        "- channel fbpage: the token expires on 2030-03-04 (in 3 days) and tagcast cannot refresh it: "
        "create a new token and put it in the file named by channels.fbpage.token_file (or in "
        "TAGCAST_CHANNELS__FBPAGE__TOKEN)"
    ) in text
    assert "run: tagcast channels test fbpage" in text
    assert TOKEN not in text


def test_a_new_expiry_is_alerted_again(tmp_path: Path, facebook: FacebookFake, webhook: WebhookFake) -> None:
    facebook.token_expires_at = int((NOW + timedelta(days=3)).timestamp())
    workspace = token_workspace(tmp_path, facebook, webhook)
    assert watch_twice(workspace, [NOW]) == [["fbpage"]]
    facebook.token_expires_at = int((NOW + timedelta(days=5)).timestamp())  # another short-lived token
    assert watch_twice(workspace, [NOW, NOW + timedelta(hours=1)]) == [["fbpage"], []]
    assert len(webhook.deliveries) == 2
    assert "2030-03-06 (in 5 days)" in texts(webhook)[1]


def test_a_token_expiring_in_30_days_is_not_alerted(
    tmp_path: Path, facebook: FacebookFake, webhook: WebhookFake
) -> None:
    facebook.token_expires_at = int((NOW + timedelta(days=30)).timestamp())
    workspace = token_workspace(tmp_path, facebook, webhook)
    assert watch_twice(workspace, [NOW]) == [[]]
    assert webhook.deliveries == []
    # ... until it is within token_warning
    assert watch_twice(workspace, [NOW + timedelta(days=24)]) == [["fbpage"]]
    assert "(in 6 days)" in texts(webhook)[0]


def test_token_expiring_can_be_left_out_of_events(
    tmp_path: Path, facebook: FacebookFake, webhook: WebhookFake
) -> None:
    facebook.token_expires_at = int((NOW + timedelta(days=3)).timestamp())
    workspace = token_workspace(tmp_path, facebook, webhook, events=["failed"])
    watch_twice(workspace, [NOW])
    assert webhook.deliveries == []
