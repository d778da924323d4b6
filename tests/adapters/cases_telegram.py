"""The ``telegram`` adapter under contract, against the fake Bot API (``fakes.telegram``), in each parse mode.

The fake stores the text as the chat shows it (after MarkdownV2 / HTML parsing), so the contract's texts,
which hold ``#``, ``.``, ``/`` and ``-``, also prove that the adapter escapes what it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from fakes.telegram import TelegramFake
from pydantic import SecretStr

from scheduler.config.models import ChannelSettings

from .contract import AdapterCase, Deployment, SentImage, SentPost

CHAT = "@tagcastnews"


def sent_posts(fake: TelegramFake) -> list[SentPost]:
    """Telegram has no alt text: each photo is known by its bytes only."""
    return [
        SentPost(
            str(m.message_id),
            m.text,
            str(m.reply_to) if m.reply_to is not None else None,
            tuple(SentImage(p.sha256) for p in m.photos),
        )
        for m in fake.messages
    ]


def deployer(parse_mode: str | None) -> Callable[[Path], AbstractContextManager[Deployment]]:
    @contextmanager
    def deploy(root: Path) -> Iterator[Deployment]:
        with TelegramFake().running() as fake:
            assert isinstance(fake, TelegramFake)

            def settings(token: str) -> ChannelSettings:
                return ChannelSettings(
                    network="telegram",
                    base_url=fake.base_url,
                    bot_token=SecretStr(token),
                    chat_id=CHAT,
                    parse_mode=parse_mode,
                )

            yield Deployment(
                settings=settings(fake.token),
                bad_settings=settings("123456:revoked-token"),
                posts=lambda: sent_posts(fake),
                fake=fake,
                root=root,
            )

    return deploy


PUBLISH = r"/send(Message|Photo|MediaGroup)$"

CASES = [
    AdapterCase("telegram", deployer(None), publish_path=PUBLISH),
    AdapterCase("telegram", deployer("MarkdownV2"), publish_path=PUBLISH, label="telegram-markdownv2"),
    AdapterCase("telegram", deployer("HTML"), publish_path=PUBLISH, label="telegram-html"),
]
