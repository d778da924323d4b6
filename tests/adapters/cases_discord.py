"""The ``discord`` adapter under contract, against the fake webhook (``fakes.discord``).

Webhooks cannot reply, so a thread is consecutive messages (``reply_chain=False``); ``test_discord.py`` checks
their order and that a failed later part never reposts the earlier ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.discord import DiscordFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: DiscordFake) -> list[SentPost]:
    return [
        SentPost(m.id, m.content, media=tuple(SentImage(p.sha256, alt=alt) for p, alt in m.attachments))
        for m in fake.messages
    ]


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with DiscordFake().running() as fake:
        assert isinstance(fake, DiscordFake)
        yield Deployment(
            settings=ChannelSettings(network="discord", webhook_url=SecretStr(fake.webhook_url())),
            bad_settings=ChannelSettings(
                network="discord", webhook_url=SecretStr(fake.webhook_url("revoked"))
            ),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
        )


CASES = [AdapterCase("discord", deploy, publish_path=r"/api/webhooks/", reply_chain=False)]
