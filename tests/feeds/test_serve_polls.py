"""``tagcast serve --once`` polls each ``[sources.NAME]`` whose interval is up, as a real process against the
loopback feed server: the backfilled entry is queued, a second run within the interval does not poll again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service.processes import tagcast

from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer, jsonfeed
from tests.feeds.test_polling import CONFIG, entry


@pytest.fixture
def server() -> Iterator[FeedServer]:
    feed = FeedServer()
    yield feed
    feed.close()


def test_serve_once_polls_a_source_and_queues_its_backfill(
    server: FeedServer, make_workspace: WriteWorkspace
) -> None:
    server.publish(jsonfeed([entry(2), entry(1)]))
    root: Path = make_workspace(CONFIG.format(url=server.url("/feed.json")))
    done = tagcast("serve", "--once", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "source history: 1 new entry(ies)" in done.stderr
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        assert sorted((d.source, d.channel) for d in store.list()) == [
            ("sources/history#urn:moment:2", "file"),
            ("sources/history#urn:moment:2", "masto"),
        ]
    again = tagcast("serve", "--once", cwd=root)
    assert again.returncode == 0, again.stderr
    assert len(server.requests) == 1  # interval = 10m: not polled again yet
