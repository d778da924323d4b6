"""The ``slack`` adapter under contract, against the fake incoming webhook (``fakes.slack``).

Incoming webhooks return no message id and cannot be checked without posting, so the contract tests that
compare remote ids, or expect ``check()`` to notice a wrong secret, are skipped; ``test_slack.py`` covers the
same paths (single post, 5xx then success, a revoked webhook) without ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.slack import SlackFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: SlackFake) -> list[SentPost]:
    """Slack answers no id: each post's id is empty."""
    return [
        SentPost("", m.shown, media=tuple(SentImage(None, url=url, alt=alt) for url, alt in m.images))
        for m in fake.messages
    ]


NO_IDS = "Slack incoming webhooks return no message id (remote_ids is empty); see test_slack.py"


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with SlackFake().running() as fake:
        assert isinstance(fake, SlackFake)
        yield Deployment(
            settings=ChannelSettings(network="slack", webhook_url=SecretStr(fake.webhook_url())),
            bad_settings=ChannelSettings(
                network="slack", webhook_url=SecretStr(fake.webhook_url("revokedsecret"))
            ),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
        )


CASES = [
    AdapterCase(
        "slack",
        deploy,
        publish_path=r"/services/",
        reply_chain=False,
        skip={
            "test_single_post": NO_IDS,
            "test_server_error_then_success": NO_IDS,
            "test_bad_credentials_fail_check": "a Slack incoming webhook cannot be verified without posting",
        },
    )
]
