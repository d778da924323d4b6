"""The ``x`` adapter under contract, against ``fakes.x``, with OAuth 1.0a and with an OAuth 2.0 token.

X has no idempotency key: a lost answer must become UnknownOutcome and is never resent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from fakes.x import XFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def oauth1(fake: XFake, *, good: bool) -> ChannelSettings:
    return ChannelSettings(
        network="x",
        base_url=fake.base_url,
        api_key=SecretStr(fake.consumer[0]),
        api_secret=SecretStr(fake.consumer[1] if good else "wrong-consumer-secret"),
        access_token=SecretStr(fake.access[0]),
        access_token_secret=SecretStr(fake.access[1]),
    )


def oauth2(fake: XFake, *, good: bool) -> ChannelSettings:
    return ChannelSettings(
        network="x",
        base_url=fake.base_url,
        oauth2_token=SecretStr(next(iter(fake.oauth2_tokens)) if good else "expired-and-no-refresh"),
    )


def deployer(
    credentials: Callable[..., ChannelSettings],
) -> Callable[[Path], AbstractContextManager[Deployment]]:
    @contextmanager
    def deploy(root: Path) -> Iterator[Deployment]:
        with XFake().running() as fake:
            yield Deployment(
                settings=credentials(fake, good=True),
                bad_settings=credentials(fake, good=False),
                posts=lambda: [
                    SentPost(t.id, t.text, t.in_reply_to, tuple(SentImage.of(m.data, m.alt) for m in t.media))
                    for t in fake.tweets
                ],
                fake=fake,
                root=root,
                uploads=lambda: len(fake.media_uploads),
            )

    return deploy


CASES = [
    AdapterCase("x", deployer(oauth1), publish_path=r"^/2/tweets$", label="x-oauth1"),
    AdapterCase("x", deployer(oauth2), publish_path=r"^/2/tweets$", label="x-oauth2"),
]
