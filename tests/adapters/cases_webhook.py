"""The generic ``webhook`` adapter under contract, against a receiver that verifies signatures and dedupes
by ``Idempotency-Key`` (``fakes.webhook``): a lost answer is safe to resend, so the case is ``idempotent``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.webhook import WebhookFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: WebhookFake) -> list[SentPost]:
    return [
        SentPost(
            d.id,
            "\n---\n".join(d.body["parts"]),
            media=tuple(SentImage(p.sha256, alt=alt) for p, alt in d.images),
        )
        for d in fake.deliveries
    ]


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with WebhookFake(secret="whsec-good").running() as fake:
        assert isinstance(fake, WebhookFake)
        yield Deployment(
            settings=ChannelSettings(network="webhook", url=fake.url, secret=SecretStr("whsec-good")),
            bad_settings=ChannelSettings(network="webhook", url=fake.url, secret=SecretStr("whsec-wrong")),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
        )


CASES = [AdapterCase("webhook", deploy, publish_path=r"/hooks/tagcast$", idempotent=True, reply_chain=False)]
