"""The ``threads`` adapter under contract, against ``fakes.threads``.

Idempotent: the container id is journalled before ``threads_publish``, so a lost answer is retried by asking
the container for its status; a container is never published twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.threads import ThreadsFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: ThreadsFake) -> list[SentPost]:
    return [
        SentPost(p.id, p.text, p.reply_to, tuple(SentImage(None, url=url, alt=alt) for url, alt in p.images))
        for p in fake.posts
    ]


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with ThreadsFake(token="th-token").running() as fake:

        def settings(token: str) -> ChannelSettings:
            return ChannelSettings(network="threads", base_url=fake.api_url, token=SecretStr(token))

        yield Deployment(
            settings=settings("th-token"),
            bad_settings=settings("expired-token"),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
        )


CASES = [AdapterCase("threads", deploy, publish_path=r"/threads_publish$", idempotent=True)]
