"""No output of any kind contains a secret set in the environment: logs (text and JSON, at debug level, where
httpx logs every URL and a Telegram URL holds the bot token), alerts, ``/metrics``, ``/healthz``,
``tagcast status`` and ``tagcast status --check``."""

from __future__ import annotations

import json

from fakes.server import Reply, Request
from fakes.slack import SlackFake
from fakes.telegram import TelegramFake
from fakes.webhook import WebhookFake
from service.conftest import Site, article
from service.processes import Serve, tagcast

from scheduler.store import DeliveryState

from .conftest import PAST, alerts_table, endpoint_url, get

TOKEN = "987654:Tg-Secret-Token-9f8e7d"
HOOK_SECRET = "whsec-env-secret-3b1f9a"
SLACK_SECRET = "slackpathsecret4242"


class LeakyTelegram(TelegramFake):
    """A Bot API whose proxy echoes the request path, token and all, in its 502 page."""

    def server_error(self, request: Request, status: int) -> Reply:
        return Reply.text(f"bad gateway while forwarding POST {request.url}", status)


def config(site: Site, tg: TelegramFake, hook: WebhookFake) -> None:
    site.write_config(
        '[store]\nurl = "sqlite:///var/tagcast.db"\n[defaults]\nchannels = ["tg", "hook"]\n'
        '[service]\nwatch_interval = "0.2s"\nbackoff_base = "1s"\nbackoff_max = "1s"\n'
        f'[channels.tg]\nnetwork = "telegram"\nchat_id = "@tagcastnews"\nbase_url = "{tg.base_url}"\n'
        f'[channels.hook]\nnetwork = "webhook"\nurl = "{hook.url}"\n'
        '[channels.ops]\nnetwork = "slack"\n' + alerts_table(["ops"], group_window="0.5s")
    )


def leaks(output: str) -> list[str]:
    return [secret for secret in (TOKEN, HOOK_SECRET, SLACK_SECRET) if secret in output]


def test_no_output_contains_a_secret_from_the_environment(site: Site) -> None:
    with (
        LeakyTelegram(token=TOKEN).running() as tg,
        WebhookFake(secret="the-receiver-expects-another-secret").running() as hook,
        SlackFake(secret=SLACK_SECRET).running() as slack,
    ):
        env = {
            "TAGCAST_CHANNELS__TG__BOT_TOKEN": TOKEN,
            "TAGCAST_CHANNELS__HOOK__SECRET": HOOK_SECRET,
            "TAGCAST_CHANNELS__OPS__WEBHOOK_URL": slack.webhook_url(),
        }
        config(site, tg, hook)
        tg.faults.server_error(status=502, path="sendMessage")  # the first attempt: a retry
        site.write_post("first.md", article("First", publish_at=PAST, channels=["tg", "hook"]))
        outputs: dict[str, str] = {}

        serve = Serve(
            site.root,
            "--log-level",
            "debug",
            "--log-format",
            "json",
            "--http",
            "127.0.0.1:0",
            env=env,
            log=site.root / "serve-json.log",
        )
        try:
            url = endpoint_url(serve)
            serve.wait_for(lambda: len(tg.messages) == 1, "the retried post to reach Telegram")
            tg.token = "987654:revoked"
            site.write_post("second.md", article("Second", publish_at=PAST, channels=["tg"]))
            serve.wait_for_log("channel tg paused")
            serve.wait_for(lambda: len(slack.messages) >= 2, "the alerts about tg and hook")
            outputs["metrics"] = get(f"{url}/metrics").text
            outputs["healthz"] = get(f"{url}/healthz").text
        finally:
            assert serve.stop() == 0, serve.output
        outputs["log (json)"] = serve.output
        outputs["alerts"] = "\n".join(message.text for message in slack.messages)

        [failed] = site.store.list(channel="tg", states=[DeliveryState.FAILED])
        assert tagcast("queue", "resume", "tg", cwd=site.root, env=env).returncode == 0
        assert tagcast("queue", "retry", failed.id, cwd=site.root, env=env).returncode == 0
        once = tagcast("serve", "--once", "--log-level", "debug", cwd=site.root, env=env)
        assert once.returncode == 0, once.stderr
        outputs["log (text)"] = once.stderr
        for args in (
            ["status"],
            ["status", "--json"],
            ["status", "--check"],
            ["status", "--check", "--json"],
        ):
            result = tagcast(*args, cwd=site.root, env=env)
            outputs[" ".join(args)] = result.stdout + result.stderr

    # what the outputs say (so that the test sees real content, not empty strings)
    assert (
        "HTTP Request: POST" in outputs["log (json)"]
        and "/bot**********/sendMessage" in outputs["log (json)"]
    )
    assert "/bot**********/sendMessage" in outputs["log (text)"]
    assert 'channel "tg" needs a person' in outputs["alerts"] and 'channel "hook"' in outputs["alerts"]
    assert "tagcast_deliveries" in outputs["metrics"] and '"status": "ok"' in outputs["healthz"]
    assert "tg: paused until resumed" in outputs["status --check"]
    assert site.store.get(failed.id).state is DeliveryState.FAILED  # the token is still revoked
    for line in outputs["log (json)"].splitlines():
        json.loads(line)  # one JSON object per line, the banner included
    for name, output in outputs.items():
        assert output, name
        assert leaks(output) == [], f"{name} shows a secret:\n{output}"
