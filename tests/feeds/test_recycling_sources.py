"""A ``[sources.NAME]`` recycles its entries with the same keys as a rule: a local feed polled into a real
outbox, sent, then re-shared in free slots with rotating variants, up to ``recycle_max``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import poll_source
from scheduler.pipeline import Pipeline
from scheduler.recycling import recycle, recycles
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedEntry, rss2
from tests.recycling_workspace import VARIANTS, recycling_config, send_due, sources_docs_blocks

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
SOURCE = '[sources.history]\nurl = "feeds/history.xml"\nbackfill = 5\n'
CONFIG = recycling_config(recycled=SOURCE)
TEMPLATES = VARIANTS | {
    "again.j2": "Again: {{ title }} {{ url }}",
    "ago.j2": "Archive: {{ title }} {{ url }}",
}


def moment(number: int) -> FeedEntry:
    return FeedEntry(
        guid=f"urn:moment:{number}",
        title=f"Moment {number}",
        link=f"https://history.example/moments/{number}",
        summary=f"<p>What happened in moment {number}.</p>",
        updated=datetime(2026, 12, number, 9, 0, tzinfo=UTC),
    )


def test_a_source_recycles_its_entries_in_free_slots_rotating_variants(
    make_workspace: WriteWorkspace,
) -> None:
    root = make_workspace(CONFIG, templates=TEMPLATES)
    (root / "feeds").mkdir()
    (root / "feeds" / "history.xml").write_bytes(rss2([moment(1), moment(2)]))
    workspace = load_workspace(root / "config" / "tagcast.toml")
    assert recycles(workspace.settings)
    pipeline = Pipeline(workspace)
    with Store.open(workspace.settings.store.url, root=root) as store, httpx.Client() as client:
        poll_source("history", workspace, store, pipeline, client, now=T0)
        send_due(store, T0 + timedelta(days=3))
        assert recycle(workspace, store, pipeline, now=T0 + timedelta(days=10)).counts() == {}  # too soon
        for day in range(40, 160):
            now = T0 + timedelta(days=day)
            recycle(workspace, store, pipeline, now=now)
            if day == 41:  # what preview --recycling shows while one re-share waits: nothing more
                args = ["preview", "--recycling", "--json", "--now", now.isoformat(), "--config", str(root)]
                shown = CliRunner().invoke(app, args)
                assert (shown.exit_code, shown.stdout.strip()) == (0, "[]"), shown.output
            send_due(store, now + timedelta(days=1))
        rows = [(d.source, d.parts[0], d.state.value) for d in store.list(limit=100)]
    one = "sources/history#urn:moment:1"
    two = "sources/history#urn:moment:2"
    link = "https://history.example/moments/"
    assert rows == [
        (one, "New: Moment 1", "sent"),
        (two, "New: Moment 2", "sent"),
        (one, f"Archive: Moment 1 {link}1", "sent"),
        (two, f"Archive: Moment 2 {link}2", "sent"),
        (one, f"Again: Moment 1 {link}1", "sent"),
        (two, f"Again: Moment 2 {link}2", "sent"),
    ]  # then recycle_max (2) is reached


def test_a_source_recycling_without_two_variants_is_a_config_error(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.replace('recycle_templates = ["again.j2", "ago.j2"]\n', ""))
    result = CliRunner().invoke(app, ["config", "validate", "--config", str(root)])
    assert result.exit_code == 1
    assert "sources.history" in result.output
    assert "recycle_every needs recycle_templates with at least two templates" in result.output


def test_the_docs_source_recycling_example_is_valid(make_workspace: WriteWorkspace) -> None:
    [block] = [block for block in sources_docs_blocks("Evergreen") if "[sources." in block]
    root = make_workspace('[channels.file]\nnetwork = "file"\n\n' + block)
    source = load_workspace(root / "config" / "tagcast.toml").settings.sources["history"]
    assert (source.recycle_every, source.recycle_templates) == (timedelta(days=90), ["again.j2", "ago.j2"])
