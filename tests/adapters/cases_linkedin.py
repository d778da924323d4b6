"""The ``linkedin`` adapter under contract, against ``fakes.linkedin``.

Idempotent by LinkedIn's duplicate answer: a resend after a lost answer gets ``422`` naming the first post,
which the adapter reads as its receipt. LinkedIn posts have no replies, so the thread tests do not apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.linkedin import LinkedInFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: LinkedInFake) -> list[SentPost]:
    return [
        SentPost(p.id, p.text, media=tuple(SentImage(sha, alt=alt) for sha, alt in p.images))
        for p in fake.posts
    ]


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with LinkedInFake(token="li-token").running() as fake:

        def settings(token: str) -> ChannelSettings:
            return ChannelSettings(
                network="linkedin",
                base_url=fake.base_url,
                author=fake.person,
                version="202511",
                token=SecretStr(token),
            )

        yield Deployment(
            settings=settings("li-token"),
            bad_settings=settings("expired-token"),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
            uploads=lambda: len(fake.images),
        )


CASES = [AdapterCase("linkedin", deploy, publish_path=r"^/rest/posts$", idempotent=True, reply_chain=False)]
