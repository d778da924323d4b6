"""The ``mastodon`` adapter under contract, against ``fakes.mastodon`` (idempotent: Idempotency-Key)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.mastodon import MastodonFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with MastodonFake(token="masto-token").running() as fake:

        def settings(token: str) -> ChannelSettings:
            return ChannelSettings(network="mastodon", base_url=fake.base_url, token=SecretStr(token))

        yield Deployment(
            settings=settings("masto-token"),
            bad_settings=settings("revoked-token"),
            posts=lambda: [
                SentPost(
                    s.id,
                    s.text,
                    s.in_reply_to_id,
                    tuple(SentImage.of(m.data, m.description) for m in s.media),
                )
                for s in fake.statuses
            ],
            fake=fake,
            root=root,
            uploads=lambda: len(fake.uploads),
        )


CASES = [AdapterCase("mastodon", deploy, publish_path=r"^/api/v1/statuses$", idempotent=True)]
