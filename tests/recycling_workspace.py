"""The workspace the recycling tests start from: an SQLite outbox in ``var/``, one slot a day at 09:00 (UTC),
one channel, and what re-shares on it (a rule for articles tagged Evergreen, or a source) every 30 days
through the two variants ``again.j2`` and ``ago.j2``, at most twice::

    root = make_workspace(recycling_config(), POSTS, templates=VARIANTS)
    ...
    send_due(store, now)  # every delivery due at ``now`` goes out

``recycling_config("bsky", recycle_max=None)`` re-shares on a Bluesky channel with no limit;
``recycling_config(recycled=SOURCE)`` re-shares a ``[sources.NAME]`` table's entries instead of a rule's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from scheduler.adapters.base import Receipt
from scheduler.store import Store
from tests.conftest import REPO

OUTBOX = """\
[store]
url = "sqlite:///var/tagcast.db"

[schedules.daily]
slots = ["daily 09:00"]
"""
CHANNELS = {
    "file": '[channels.file]\nnetwork = "file"\nschedule = "daily"\ntemplate = "fresh.j2"\n',
    "bsky": '[channels.bsky]\nnetwork = "bluesky"\nhandle = "alice.test"\nschedule = "daily"\n',
}
VARIANTS = {
    "fresh.j2": "New: {{ title }}",
    "again.j2": "Again: {{ title }}",
    "ago.j2": "Archive: {{ title }}",
}
"""The templates of a recycling workspace: ``fresh.j2`` for a first post, two variants for re-shares."""


def recycling_config(
    channel: str = "file", *, recycled: str | None = None, recycle_max: int | None = 2
) -> str:
    """The ``tagcast.toml``: the outbox, the daily schedule, the channel, then ``recycled`` (the header and
    selecting keys of the table that re-shares; default, a rule for the tag Evergreen on the channel) with
    ``recycle_every = "30d"``, ``recycle_max`` (left out when None) and the two variants."""
    table = recycled or f'[[rules]]\ntags = ["Evergreen"]\nchannels = ["{channel}"]\n'
    keys = 'recycle_every = "30d"\n'
    if recycle_max is not None:
        keys += f"recycle_max = {recycle_max}\n"
    keys += 'recycle_templates = ["again.j2", "ago.j2"]\n'
    return f"{OUTBOX}\n{CHANNELS[channel]}\n{table}{keys}"


def send_due(store: Store, now: datetime) -> None:
    """Claim every delivery due at ``now`` and record it as sent, as a network that takes every post would."""
    while claimed := store.claim_due(now, worker="w", lease=timedelta(minutes=5), limit=50):
        for delivery in claimed:
            store.mark_sent(delivery.id, Receipt(remote_ids=(delivery.id,)), now=now)


def sources_docs_blocks(heading: str, language: str = "toml") -> list[str]:
    """The ``language`` code blocks of ``docs/sources.md`` from the section ``## {heading}`` on, in order."""
    text = (REPO / "docs" / "sources.md").read_text(encoding="utf-8").split(f"## {heading}", 1)[1]
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
