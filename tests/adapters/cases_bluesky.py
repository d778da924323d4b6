"""The ``bluesky`` adapter under contract, against the fake PDS (``fakes.bluesky``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fakes.bluesky import BlueskyFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost


def sent_posts(fake: BlueskyFake) -> list[SentPost]:
    """The fake's posts in thread order, each with the uri of the post it replies to."""
    posts: list[SentPost] = []
    for uri, stored in fake.posts():
        reply = stored.value.get("reply")
        images = (stored.value.get("embed") or {}).get("images") or []
        media = tuple(SentImage.of(fake.blobs[i["image"]["ref"]["$link"]].data, i["alt"]) for i in images)
        posts.append(SentPost(uri, stored.value["text"], reply["parent"]["uri"] if reply else None, media))
    return posts


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    with BlueskyFake(handle="alice.test", password="app-pass-1234").running() as fake:
        assert isinstance(fake, BlueskyFake)

        def settings(password: str) -> ChannelSettings:
            return ChannelSettings(
                network="bluesky",
                base_url=fake.base_url,
                handle="alice.test",
                password=SecretStr(password),
                language="en",
            )

        yield Deployment(
            settings=settings("app-pass-1234"),
            bad_settings=settings("wrong-password"),
            posts=lambda: sent_posts(fake),
            fake=fake,
            root=root,
            uploads=lambda: len(fake.blob_uploads),
        )


CASES = [
    AdapterCase("bluesky", deploy, publish_path=r"/xrpc/com\.atproto\.repo\.putRecord$", idempotent=True)
]
