"""The ``facebook`` adapter under contract, against ``fakes.facebook``.

Facebook has no idempotency key: a lost answer is UnknownOutcome and never resent. Page posts have no reply
chain, so the thread tests do not apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.facebook import FacebookFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_images(fake: FacebookFake) -> list[tuple[SentImage, ...]]:
    return [tuple(SentImage(p.sha256, alt=p.alt) for p in post.photos) for post in fake.posts]


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with FacebookFake(token="fb-page-token").running() as fake:

        def settings(token: str) -> ChannelSettings:
            return ChannelSettings(
                network="facebook", base_url=fake.api_url, page_id=fake.page_id, token=SecretStr(token)
            )

        yield Deployment(
            settings=settings("fb-page-token"),
            bad_settings=settings("expired-token"),
            posts=lambda: [SentPost(p.id, p.message) for p in fake.posts],
            fake=fake,
            root=root,
            images=lambda: sent_images(fake),
        )


CASES = [AdapterCase("facebook", deploy, publish_path=r"/(feed|photos)$", reply_chain=False)]
