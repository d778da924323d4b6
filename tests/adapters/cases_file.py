"""The built-in ``file`` adapter under contract: no server, so the fault tests skip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scheduler.config.models import ChannelSettings

from .contract import CHANNEL, AdapterCase, Deployment, SentImage, SentPost


@contextmanager
def deploy(root: Path) -> Iterator[Deployment]:
    blocker = root / "not-a-folder"
    blocker.write_text("a file where the outbox folder should be\n", encoding="utf-8")

    folder = root / "var" / "outbox" / CHANNEL

    def records() -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]

    def posts() -> list[SentPost]:
        """Each record, with the files copied beside it (by their bytes) and the alt the record gives."""
        return [
            SentPost(
                r["delivery_id"],
                "\n---\n".join(r["parts"]),
                media=tuple(SentImage.of((folder / i["file"]).read_bytes(), i["alt"]) for i in r["images"]),
            )
            for r in records()
        ]

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
