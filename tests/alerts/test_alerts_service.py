"""Alerts from a real ``tagcast serve`` process, to alert channels on loopback; assertions are on what the
fake servers received, on the outbox, ``/metrics`` and ``tagcast status --check``."""

from __future__ import annotations

import json
import signal
import time

from fakes.facebook import FacebookFake
from fakes.server import closed_url
from fakes.telegram import TelegramFake
from fakes.webhook import WebhookFake
from service.conftest import Site, article
from service.processes import Serve, tagcast

from scheduler.store import DeliveryState

from .conftest import PAST, alerts_table, endpoint_url, get

SERVICE = '[service]\nwatch_interval = "0.2s"\nbackoff_base = "1s"\nbackoff_max = "2s"\nlease = "30s"\n'


def telegram_channel(name: str, fake: TelegramFake) -> str:
    return (
        f'[channels.{name}]\nnetwork = "telegram"\nchat_id = "@tagcastnews"\nbase_url = "{fake.base_url}"\n'
    )


def webhook_channel(name: str, url: str) -> str:
    return f'[channels.{name}]\nnetwork = "webhook"\nurl = "{url}"\n'


def base(default_channels: list[str]) -> str:
    names = ", ".join(f'"{name}"' for name in default_channels)
    return f'[store]\nurl = "sqlite:///var/tagcast.db"\n[defaults]\nchannels = [{names}]\n' + SERVICE


def post(site: Site, name: str, channels: list[str]) -> None:
    site.write_post(f"{name}.md", article(name.title(), publish_at=PAST, channels=channels))


def test_a_channel_answering_401_gives_one_grouped_alert_a_paused_metric_and_a_failed_check(
    site: Site, webhook: WebhookFake, telegram: TelegramFake
) -> None:
    site.write_config(
        base(["tg"])
        + telegram_channel("tg", telegram)
        + webhook_channel("ops", webhook.url)
        + alerts_table(["ops"], group_window="3s")
    )
    env = {"TAGCAST_CHANNELS__TG__BOT_TOKEN": telegram.token}
    post(site, "first", ["tg"])
    serve = Serve(site.root, "--http", "127.0.0.1:0", env=env, log=site.root / "serve.log")
    try:
        url = endpoint_url(serve)
        serve.wait_for(lambda: len(telegram.messages) == 1, "the first post to go out")

        telegram.token = "123456:the-token-was-revoked"  # from now on the bot's token answers 401
        for name in ("second", "third", "fourth"):
            post(site, name, ["tg"])
        serve.wait_for_log("channel tg paused")
        serve.wait_for(lambda: len(webhook.deliveries) == 1, "the alert")

        metrics = get(f"{url}/metrics")
        assert metrics.status_code == 200
        assert 'tagcast_channel_paused{channel="tg"} 1.0' in metrics.text
        assert 'tagcast_channel_paused{channel="ops"} 0.0' in metrics.text
        assert 'tagcast_delivery_failures_total{channel="tg",kind="auth"} 1.0' in metrics.text
        assert 'tagcast_deliveries{channel="tg",state="failed"} 1.0' in metrics.text
        assert 'tagcast_deliveries{channel="tg",state="planned"} 2.0' in metrics.text
        assert 'tagcast_alerts_total{result="sent"} 1.0' in metrics.text
    finally:
        assert serve.stop() == 0, serve.output

    [alert] = webhook.deliveries  # exactly one, also after the shutdown flushed what was left
    text = alert.body["parts"][0]
    [failed] = site.store.list(states=[DeliveryState.FAILED])
    assert text.startswith("tagcast on ") and 'channel "tg" needs a person (2 problems)' in text
    assert "channel paused until resumed" in text and "401" in text
    assert f"failed: {failed.id} ({failed.source})" in text
    assert f"run: tagcast queue retry {failed.id}" in text
    assert "tagcast queue resume tg" in text
    assert len(telegram.messages) == 1  # the other two wait in the paused channel
    assert len(site.store.list(states=[DeliveryState.PLANNED])) == 2

    check = tagcast("status", "--check", cwd=site.root, env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "tg: 1 delivery failed" in check.stdout
    assert "tg: paused until resumed" in check.stdout
    as_json = tagcast("status", "--check", "--json", cwd=site.root, env=env)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["ok"] is False


def test_an_alert_channel_that_is_down_does_not_slow_or_fail_deliveries(
    site: Site, webhook: WebhookFake, telegram: TelegramFake
) -> None:
    with WebhookFake(secret=None).running() as failing:
        failing.faults.server_error(status=500, times=1000)
        dead = f"{closed_url()}/hooks/tagcast"
        site.write_config(
            base(["good"])
            + webhook_channel("good", webhook.url)
            + telegram_channel("bad", telegram)
            + webhook_channel("ops", dead)
            + webhook_channel("ops2", failing.url)
            + alerts_table(["ops", "ops2"], group_window="0.2s", send_timeout="2s")
        )
        env = {"TAGCAST_CHANNELS__BAD__BOT_TOKEN": "123456:a-wrong-token"}  # every post to bad fails: 401
        for number in range(12):
            post(site, f"good{number:02d}", ["good"])
        for number in range(3):
            post(site, f"bad{number}", ["bad"])
        serve = Serve(site.root, env=env, log=site.root / "serve.log")
        try:
            serve.wait_for(lambda: len(webhook.deliveries) == 12, "every post to the good channel")
            serve.wait_for_log("alert not sent through channel ops:")
            serve.wait_for_log("alert not sent through channel ops2:")
        finally:
            assert serve.stop() == 0, serve.output
        assert failing.requests, "the alert was tried on the failing channel"

    good = site.store.list(channel="good", limit=100)
    assert len(good) == 12 and {d.state for d in good} == {DeliveryState.SENT}
    assert {d.attempts for d in good} == {1}
    bad = site.store.list(channel="bad")
    assert sorted(d.state.value for d in bad) == ["failed", "planned", "planned"]
    assert "Traceback" not in serve.output


def test_a_restart_after_a_crash_and_a_refused_reload_are_alerted(site: Site, webhook: WebhookFake) -> None:
    alerts = site.root / "var" / "outbox" / "ops"
    config = (
        base(["hook"])
        + webhook_channel("hook", webhook.url)
        + '[channels.ops]\nnetwork = "file"\n'
        + alerts_table(["ops"], group_window="0.2s")
    )
    site.write_config(config)
    first = Serve(site.root, log=site.root / "first.log")
    first.wait_for_log("ready: worker")
    first.kill()  # SIGKILL: no clean stop recorded

    second = Serve(site.root, log=site.root / "second.log")
    try:
        second.wait_for_log("started after a crash")
        second.wait_for(lambda: len(list(alerts.glob("alert-*.txt"))) == 1, "the crash alert")
        site.write_config(config + "[channels.broken]\nnetwork = 'webhook'\nenabled = 'maybe'\n")
        second.wait_for_log("config reload refused")
        second.wait_for(lambda: len(list(alerts.glob("alert-*.txt"))) == 2, "the reload alert")
        second.signal(signal.SIGTERM)
        assert second.process.wait(30) == 0, second.output
    finally:
        second.stop()
    texts = sorted(path.read_text(encoding="utf-8") for path in alerts.glob("alert-*.txt"))
    assert any("started after a crash: the previous run" in text for text in texts)
    refused = next(text for text in texts if "config reload refused" in text)
    assert "channels.broken.enabled" in refused and "run: tagcast config validate" in refused

    site.write_config(config)
    third = tagcast("serve", "--once", cwd=site.root)  # the previous run stopped cleanly: no alert
    assert third.returncode == 0, third.stderr
    assert "started after a crash" not in third.stderr
    assert len(list(alerts.glob("alert-*.txt"))) == 2


def test_serve_refuses_an_alert_channel_that_does_not_exist(site: Site) -> None:
    site.write_config(base(["file"]) + '[channels.file]\nnetwork = "file"\n' + alerts_table(["pager"]))
    result = tagcast("serve", "--once", cwd=site.root)
    assert result.returncode == 1
    assert "alerts.channels: no channel named 'pager'" in result.stderr


def test_http_wants_host_and_port(site: Site) -> None:
    site.write_config(base(["file"]) + '[channels.file]\nnetwork = "file"\n')
    result = tagcast("serve", "--once", "--http", "localhost:http", cwd=site.root)
    assert result.returncode == 2 and "HOST:PORT" in result.stderr


def test_serve_once_alerts_once_about_a_facebook_token_expiring_in_3_days(site: Site) -> None:
    alerts = site.root / "var" / "outbox" / "ops"
    env = {"TAGCAST_CHANNELS__FBPAGE__TOKEN": "fb-serve-secret-9"}
    with FacebookFake(token="fb-serve-secret-9").running() as facebook:
        facebook.token_expires_at = int(time.time()) + 3 * 86400
        site.write_config(
            base(["ops"])
            + '[channels.ops]\nnetwork = "file"\n'
            + f'[channels.fbpage]\nnetwork = "facebook"\npage_id = "{facebook.page_id}"\n'
            + f'base_url = "{facebook.api_url}"\n'
            + alerts_table(["ops"])
        )
        for _ in range(2):  # the second run, within the day, neither asks again nor alerts again
            done = tagcast("serve", "--once", cwd=site.root, env=env)
            assert done.returncode == 0, done.stderr
        [alert] = [path.read_text(encoding="utf-8") for path in alerts.glob("alert-*.txt")]
        assert 'channel "fbpage" needs a person (1 problem)' in alert
        assert "(in 3 days) and tagcast cannot refresh it" in alert
        check = tagcast("status", "--check", cwd=site.root, env=env)
        assert check.returncode == 1 and "channel fbpage: the token expires on" in check.stdout, check.stdout
