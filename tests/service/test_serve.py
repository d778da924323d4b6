"""``tagcast serve`` as a real process: --once end to end on the shipped workspace, two --once processes on
one SQLite file, a long-running service that picks up edits, reloads (or refuses) its config, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fakes.webhook import WebhookFake

from scheduler.cli.serve import redacted_url
from scheduler.store import DeliveryState, Store

from .conftest import DUE, REPO_ROOT, Site, article, config_text
from .processes import Serve, tagcast
from .test_dispatcher import SlowWebhook

PAST = DUE


def test_serve_once_runs_the_shipped_workspace_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "checkout"
    shutil.copytree(REPO_ROOT / "config", root / "config")
    shutil.copytree(REPO_ROOT / "posts", root / "posts")

    first = tagcast("serve", "--once", cwd=root)
    assert first.returncode == 0, first.stderr
    assert (
        "outbox  sqlite:///var/tagcast.db" in first.stderr and "channel file (file): active" in first.stderr
    )
    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        queued = store.list()
        assert queued and {d.state for d in queued} == {DeliveryState.PLANNED}
        now = datetime.now(UTC)
        for delivery in queued:  # as `tagcast queue reschedule ID --at now` would
            store.reschedule(delivery.id, now, now=now)

    second = tagcast("serve", "--once", cwd=root)
    assert second.returncode == 0, second.stderr
    outbox = root / "var" / "outbox" / "file"
    assert sorted(p.stem for p in outbox.glob("*.txt")) == sorted(d.id for d in queued)
    assert sorted(p.stem for p in outbox.glob("*.json")) == sorted(d.id for d in queued)
    for delivery in queued:
        written = json.loads((outbox / f"{delivery.id}.json").read_text(encoding="utf-8"))
        assert written["parts"] == list(delivery.parts)

    with Store.open("sqlite:///var/tagcast.db", root=root) as store:
        workers = store.workers()
    assert len(workers) == 2 and all(w.stopped_at is not None and not w.holding for w in workers)

    listed = tagcast("queue", "list", "--json", cwd=root)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {row["id"]: row["state"] for row in rows} == {d.id: "sent" for d in queued}


def test_two_serve_once_processes_on_one_sqlite_file_send_each_post_once(site: Site) -> None:
    with SlowWebhook(delay=0.01).running() as a, SlowWebhook(delay=0.01).running() as b:
        assert isinstance(a, SlowWebhook) and isinstance(b, SlowWebhook)
        site.write_config(
            config_text(
                {"a": {"network": "webhook", "url": a.url}, "b": {"network": "webhook", "url": b.url}},
                service={"concurrency": 2},
            )
        )
        for number in range(25):
            site.write_post(f"p{number:02d}.md", article(f"Post {number}", publish_at=PAST))
        logs = [site.root / f"serve-{n}.log" for n in (1, 2)]
        processes = [Serve(site.root, "--once", log=log) for log in logs]
        codes = [p.process.wait(120) for p in processes]
        for process in processes:
            process.close()
        assert codes == [0, 0], "\n".join(p.output for p in processes)

        for fake in (a, b):
            keys = Counter(request.headers["idempotency-key"] for request in fake.requests)
            assert len(keys) == 25 and set(keys.values()) == {1}  # each post reached its receiver once
            assert fake.replays == 0
    deliveries = site.store.list(limit=100)
    assert len(deliveries) == 50 and {d.state for d in deliveries} == {DeliveryState.SENT}
    assert {d.attempts for d in deliveries} == {1}


def test_the_service_follows_edits_reloads_its_config_and_stops_on_sigterm(
    site: Site, webhook: WebhookFake
) -> None:
    config = config_text(
        {"hook": {"network": "webhook", "url": webhook.url}}, service={"watch_interval": "0.2s"}
    )
    site.write_config(config)
    site.write_post("now.md", article("Now", publish_at=PAST, body="Out at once."))
    site.write_post("later.md", article("Later", publish_at="2031-01-01T09:00:00Z", body="First draft."))
    serve = Serve(site.root, log=site.root / "serve.log")
    try:
        serve.wait_for(lambda: len(webhook.deliveries) == 1, "the due post to be sent")
        serve.wait_for_log("ready: worker")

        # an edit before its slot updates the queued text
        site.write_post("later.md", article("Later", publish_at="2031-01-01T09:00:00Z", body="Second draft."))
        serve.wait_for(
            lambda: "Second draft." in queued_text(site, "posts/later.md"), "the queued text to follow"
        )

        # an edit after it was sent is reported and never reposted
        site.write_post("now.md", article("Now", publish_at=PAST, body="Edited after sending."))
        serve.wait_for_log("already-sent")

        # an invalid config is refused with its reason, and the service goes on with the old one
        site.write_config(config + '[channels.broken]\nnetwork = "webhook"\nenabled = "maybe"\n')
        serve.wait_for_log("config reload refused")
        assert "channels.broken.enabled" in serve.output
        site.write_post("new.md", article("New", publish_at=PAST, body="Sent under the old config."))
        serve.wait_for(lambda: len(webhook.deliveries) == 2, "a new post under the old config")

        # a valid change is taken; SIGHUP reloads too
        site.write_config(config.replace('backoff_max = "4s"', 'backoff_max = "5s"'))
        serve.wait_for_log("config reloaded")
        serve.signal(signal.SIGHUP)
        serve.wait_for_log("config reloaded", count=2)
        assert serve.process.poll() is None
    finally:
        code = serve.stop()
    assert code == 0, serve.output
    assert "stopped" in serve.output
    titles = [d.body["article"]["title"] for d in webhook.deliveries]
    assert titles == ["Now", "New"]  # "Now" was not reposted after its edit
    assert site.store.find("posts/later.md", "hook").state is DeliveryState.PLANNED  # type: ignore[union-attr]


def queued_text(site: Site, source: str) -> str:
    delivery = site.store.find(source, "hook")
    return delivery.parts[0] if delivery is not None else ""


def test_sigterm_lets_a_send_in_flight_finish(site: Site) -> None:
    with SlowWebhook(delay=1.5).running() as slow:
        assert isinstance(slow, SlowWebhook)
        site.write_config(config_text({"hook": {"network": "webhook", "url": slow.url}}))
        site.write_post("p.md", article("Post", publish_at=PAST))
        serve = Serve(site.root, log=site.root / "serve.log")
        serve.wait_for(lambda: len(slow.requests) == 1, "the request to reach the receiver")
        code = serve.stop()
        assert code == 0, serve.output
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.SENT
    assert "stopping: no new claims" in serve.output


def test_a_send_cut_short_at_shutdown_is_reconciled_at_the_next_start(site: Site) -> None:
    with SlowWebhook(delay=3).running() as slow:
        assert isinstance(slow, SlowWebhook)
        site.write_config(
            config_text(
                {"hook": {"network": "webhook", "url": slow.url}}, service={"shutdown_timeout": "0.3s"}
            )
        )
        site.write_post("p.md", article("Post", publish_at=PAST))
        serve = Serve(site.root, log=site.root / "serve.log")
        serve.wait_for(lambda: len(slow.requests) == 1, "the request to reach the receiver")
        started = time.monotonic()
        assert serve.stop() == 0, serve.output
        assert time.monotonic() - started < 3  # it did not wait for the slow answer
        assert "interrupting them" in serve.output
        [left] = site.store.list()
        assert left.state is DeliveryState.SENDING

        again = tagcast("serve", "--once", cwd=site.root)
        assert again.returncode == 0, again.stderr
        assert "reconciling" in again.stderr
        assert len(slow.deliveries) == 1  # the replay was deduplicated by its key
    assert site.store.get(left.id).state is DeliveryState.SENT


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://tagcast:s3cret@db.example/tagcast",
            "postgresql+psycopg://tagcast:***@db.example/tagcast",
        ),
        ("sqlite:///var/tagcast.db", "sqlite:///var/tagcast.db"),
    ],
)
def test_the_banner_never_shows_the_database_password(url: str, shown: str) -> None:
    assert redacted_url(url) == shown
