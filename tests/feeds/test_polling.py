"""``[sources.NAME]`` polled against a real feed server on loopback that changes between polls: new entries,
an edited entry, a 304, a 500, a stalled answer, a 20 MB answer and a cut-off feed. Nothing is lost, nothing
duplicated (asserted on the outbox rows), each failure is recorded for its source and named by
``tagcast status --check``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import PollResult, poll_source
from scheduler.pipeline import Pipeline
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedEntry, FeedServer, Served, rss2

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)

CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[channels.file]
network = "file"

[channels.masto]
network = "mastodon"
base_url = "https://masto.example"

[[rules]]
tags = ["History"]
channels = ["file", "masto"]

[sources.history]
url = "{url}"
interval = "10m"
backfill = 1
timeout = "1s"
"""


def entry(number: int, summary: str = "", *, day: int | None = None) -> FeedEntry:
    return FeedEntry(
        guid=f"urn:moment:{number}",
        title=f"Moment {number}",
        link=f"https://history.example/moments/{number}",
        summary=summary or f"<p>What happened in moment {number} &amp; after.</p>",
        categories=("History", "Khalkhin Gol"),
        updated=datetime(2026, 12, day or number, 9, 0, tzinfo=UTC),
    )


class Poller:
    """One workspace with ``[sources.history]`` on ``server``; :meth:`poll` runs one poll at a given time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.workspace = load_workspace(root / "config" / "tagcast.toml")
        self.pipeline = Pipeline(self.workspace)
        self.store = Store.open(self.workspace.settings.store.url, root=root)
        self.client = httpx.Client()

    def poll(self, minutes: int) -> PollResult:
        now = T0 + timedelta(minutes=minutes)
        return poll_source("history", self.workspace, self.store, self.pipeline, self.client, now=now)

    def rows(self) -> list[tuple[str, str, str]]:
        return sorted(
            (delivery.source, delivery.channel, delivery.parts[0]) for delivery in self.store.list(limit=1000)
        )

    def close(self) -> None:
        self.client.close()
        self.store.close()


@pytest.fixture
def poller(server: FeedServer, make_workspace: WriteWorkspace) -> Iterator[Poller]:
    root = make_workspace(CONFIG.format(url=server.url("/history.xml")))
    made = Poller(root)
    yield made
    made.close()


def sources(rows: list[tuple[str, str, str]]) -> list[str]:
    return sorted({source for source, _, _ in rows})


def test_first_poll_queues_only_the_backfill_then_new_and_edited_entries(
    server: FeedServer, poller: Poller
) -> None:
    server.publish(rss2([entry(3), entry(2), entry(1)]))
    first = poller.poll(0)
    assert first.error is None and first.new_entries == 1
    rows = poller.rows()
    assert sources(rows) == ["sources/history#urn:moment:3"]  # the newest only (backfill = 1)
    assert {channel for _, channel, _ in rows} == {"file", "masto"}
    text = rows[0][2]
    assert "What happened in moment 3 & after." in text and "<p>" not in text and "&amp;" not in text
    assert "#KhalkhinGol" in text

    # a new entry, and an edit of the queued one before its slot
    server.publish(rss2([entry(4), entry(3, "<p>Corrected: moment 3.</p>"), entry(2), entry(1)]))
    second = poller.poll(10)
    assert second.error is None and second.new_entries == 1
    assert second.report is not None and second.report.counts() == {"added": 2, "updated": 2}
    rows = poller.rows()
    assert sources(rows) == ["sources/history#urn:moment:3", "sources/history#urn:moment:4"]
    assert len(rows) == 4  # nothing duplicated
    assert all("Corrected: moment 3." in text for source, _, text in rows if source.endswith(":3"))

    # nothing changed on the server: a conditional request, answered 304
    third = poller.poll(20)
    assert third.not_modified
    assert server.requests[-1].headers["if-none-match"] == server.etag
    assert poller.rows() == rows


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda server: setattr(server, "served", Served(status=500)), "answered HTTP 500"),
        (lambda server: setattr(server, "stall", True), "did not answer within 1 s"),
        (lambda server: setattr(server, "huge", 20_000_000), "more than 10,000,000 bytes"),
        (lambda server: server.publish(rss2([entry(9), entry(3)])[:-40]), "invalid XML"),
        (lambda server: server.publish(b"<html><body>Moved</body></html>"), "not a feed"),
    ],
    ids=["500", "slow", "20MB", "cut-off", "html"],
)
def test_a_failed_poll_loses_nothing_and_is_reported_for_its_source(
    server: FeedServer, poller: Poller, break_it: object, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    server.publish(rss2([entry(3), entry(2)]))
    poller.poll(0)
    before = poller.rows()
    assert len(before) == 2

    break_it(server)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="tagcast.feeds"):
        failed = poller.poll(10)
    assert failed.error is not None and message in failed.error
    assert poller.rows() == before
    assert any("source history: poll failed" in record.getMessage() for record in caplog.records)

    result = CliRunner().invoke(app, ["status", "--check", "--config", str(poller.root)])
    assert result.exit_code == 1
    assert "source history: the last poll" in result.stdout and message in result.stdout

    # the server recovers: the entry published meanwhile is queued once, the old ones stay as they were
    server.stall, server.huge = False, 0
    server.release.set()
    server.publish(rss2([entry(4), entry(3), entry(2)]), when=datetime(2026, 12, 5, tzinfo=UTC))
    recovered = poller.poll(20)
    assert recovered.error is None and recovered.new_entries == 1
    rows = poller.rows()
    assert sources(rows) == ["sources/history#urn:moment:3", "sources/history#urn:moment:4"]
    assert len(rows) == 4
    assert poller.store.feed_state("history").error is None  # type: ignore[union-attr]
    result = CliRunner().invoke(app, ["status", "--check", "--config", str(poller.root)])
    assert "source history" not in result.stdout


def test_a_local_file_source_is_read_again_only_when_it_changed(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.format(url="feeds/history.xml").replace("backfill = 1", "backfill = 5"))
    (root / "feeds").mkdir()
    (root / "feeds" / "history.xml").write_bytes(rss2([entry(1), entry(2)]))
    poller = Poller(root)
    try:
        assert poller.poll(0).new_entries == 2
        assert poller.poll(10).not_modified
        assert len(poller.rows()) == 4
    finally:
        poller.close()


def test_queue_add_does_not_call_feed_entries_orphans(server: FeedServer, poller: Poller) -> None:
    server.publish(rss2([entry(1)]))
    poller.poll(0)
    result = CliRunner().invoke(app, ["queue", "add", "--config", str(poller.root)])
    assert result.exit_code == 0, result.output
    assert "sources/history" not in result.output
    assert len(poller.rows()) == 2


def test_status_check_forgets_a_source_no_longer_configured(server: FeedServer, poller: Poller) -> None:
    server.served = Served(status=500)
    poller.poll(0)
    config = poller.root / "config" / "tagcast.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.split("[sources.history]")[0], encoding="utf-8")
    result = CliRunner().invoke(app, ["status", "--check", "--config", str(poller.root)])
    assert "source history" not in result.stdout
