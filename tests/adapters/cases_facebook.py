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


def sent_posts(fake: FacebookFake) -> list[SentPost]:
    return [
        SentPost(p.id, p.message, media=tuple(SentImage(photo.sha256, alt=photo.alt) for photo in p.photos))
        for p in fake.posts
    ]


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
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
            uploads=lambda: len(fake.photos),
        )


CASES = [
    AdapterCase(
        "facebook", deploy, publish_path=r"/(feed|photos)$", media_publish_path=r"/feed$", reply_chain=False
    )
]
