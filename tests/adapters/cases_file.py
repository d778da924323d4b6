"""The built-in ``file`` adapter under contract: no server, so the fault tests skip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scheduler.config.models import ChannelSettings

from .contract import CHANNEL, AdapterCase, Deployment, SentPost


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    blocker = root / "not-a-folder"
    blocker.write_text("a file where the outbox folder should be\n", encoding="utf-8")

    def posts() -> list[SentPost]:
        folder = root / "var" / "outbox" / CHANNEL
        records = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
        return [SentPost(r["delivery_id"], "\n---\n".join(r["parts"])) for r in records]

    yield Deployment(
        settings=ChannelSettings(network="file"),
        bad_settings=ChannelSettings(network="file", path=str(blocker)),
        posts=posts,
        fake=None,
        root=root,
    )


CASES = [
    AdapterCase(
        "file",
        deploy,
        idempotent=True,
        reply_chain=False,
        skip={"test_over_length_is_refused_before_sending": "the file adapter has no length limit"},
    )
]
