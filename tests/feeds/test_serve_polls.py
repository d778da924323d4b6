"""``tagcast serve --once`` polls each ``[sources.NAME]`` whose interval is up, as a real process against the
loopback feed server: the backfilled entry is queued, a second run within the interval does not poll again."""

from __future__ import annotations

from pathlib import Path

from service.processes import tagcast

from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedServer, jsonfeed
from tests.feeds.test_polling import CONFIG, entry


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


def test_a_failing_source_is_alerted_once_until_it_recovers(
    server: FeedServer, make_workspace: WriteWorkspace
) -> None:
    from fakes.webhook import WebhookFake

    from tests.fakes.feeds import Served

    server.served = Served(status=500)
    with WebhookFake(secret=None).running() as alerts:
        config = (
            CONFIG.format(url=server.url("/feed.json")).replace('interval = "10m"', 'interval = "1s"')
            + f'\n[channels.ops]\nnetwork = "webhook"\nurl = "{alerts.url}"\n'  # type: ignore[attr-defined]
            + '\n[alerts]\nchannels = ["ops"]\ngroup_window = "1s"\n'
        )
        root: Path = make_workspace(config)
        first = tagcast("serve", "--once", cwd=root)
        assert first.returncode == 0, first.stderr
        assert "source history: poll failed" in first.stderr
        [alert] = alerts.deliveries  # type: ignore[attr-defined]
        text = "\n".join(alert.body["parts"])
        assert "source history: poll failed, its new entries wait:" in text and "HTTP 500" in text
        assert "tagcast status --check" in text
        server.requests.clear()
        for _ in range(5):  # until the interval (1 s) is up on the outbox's clock and it polls again
            again = tagcast("serve", "--once", cwd=root)
            assert again.returncode == 0, again.stderr
            if server.requests:
                break
        assert server.requests
        assert len(alerts.deliveries) == 1  # type: ignore[attr-defined]  # still failing: no second alert
