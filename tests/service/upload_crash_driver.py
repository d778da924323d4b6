"""A process that sends one delivery with images through its channel's adapter, its journal in the real outbox
(SQLite), so that ``test_crash.py`` can SIGKILL it between the uploads and the post and run it again.

    python upload_crash_driver.py WORKSPACE DELIVERY_ID MEDIA_JSON publish|recover

``recover`` does what the service does with a delivery a dead worker left behind: ``reconcile``, then
``publish`` when that says the post is surely not out. Prints the receipt's remote ids as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from scheduler.adapters.base import Journal, Outgoing
from scheduler.adapters.registry import load_adapter
from scheduler.config import load_workspace
from scheduler.media.model import Media
from scheduler.store import Store


async def main(root: Path, delivery_id: str, media_file: Path, mode: str) -> list[str]:
    workspace = load_workspace(root / "config" / "tagcast.toml")
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        delivery = store.get(delivery_id)
        settings = workspace.settings.channels[delivery.channel]
        media = tuple(
            Media(**{**item, "path": Path(item["path"])}) for item in json.loads(media_file.read_text())
        )
        post = Outgoing(
            delivery.id,
            delivery.idempotency_key,
            delivery.parts,
            delivery.to_article(),
            delivery.channel,
            media=media,
        )

        async def save(state: dict[str, Any]) -> None:
            store.save_journal(delivery.id, state)

        journal = Journal(state=dict(delivery.journal), saver=save)
        async with httpx.AsyncClient(timeout=httpx.Timeout(120.0)) as http:
            adapter = load_adapter(settings.network)(delivery.channel, settings, http=http, root=root)
            receipt = await adapter.reconcile(post, journal) if mode == "recover" else None
            if receipt is None:
                receipt = await adapter.publish(post, journal)
        return list(receipt.remote_ids)


if __name__ == "__main__":
    workspace_root, delivery, media_json, how = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(Path(workspace_root), delivery, Path(media_json), how))))
