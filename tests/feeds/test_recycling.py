"""Evergreen recycling on a real outbox, driven with an injected clock: re-shared after ``recycle_every`` in a
free slot only, one at a time per channel, rotating template variants, at most ``recycle_max`` times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.pipeline import Pipeline
from scheduler.recycling import recycle, recycling_plan
from scheduler.store import DeliveryState, Store
from tests.conftest import WriteWorkspace
from tests.recycling_workspace import VARIANTS, recycling_config, send_due, sources_docs_blocks

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CONFIG = recycling_config()
POSTS = {
    "a.md": "---\ntitle: Antikythera\ntags: [Evergreen]\n---\nGears.\n",
    "b.md": "---\ntitle: Bayeux\ntags: [Evergreen]\n---\nTapestry.\n",
}


class Site:
    def __init__(self, root: Path) -> None:
        self.workspace = load_workspace(root / "config" / "tagcast.toml")
        self.pipeline = Pipeline(self.workspace)
        self.store = Store.open(self.workspace.settings.store.url, root=root)

    def send_due(self, now: datetime) -> None:
        send_due(self.store, now)

    def texts(self) -> list[tuple[str, str, str, str]]:
        rows = self.store.list(limit=100)
        return [(d.source, d.parts[0], d.state.value, d.scheduled_at.date().isoformat()) for d in rows]


@pytest.fixture
def site(make_workspace: WriteWorkspace) -> Iterator[Site]:
    made = Site(make_workspace(CONFIG, POSTS, templates=VARIANTS))
    yield made
    made.store.close()


def test_recycling_reshares_in_free_slots_rotating_variants_up_to_the_maximum(site: Site) -> None:
    ingest(site.workspace, site.store, now=T0, pipeline=site.pipeline)
    assert recycling_plan(site.pipeline, site.store, now=T0) == []  # nothing sent yet
    site.send_due(T0 + timedelta(days=3))
    assert recycling_plan(site.pipeline, site.store, now=T0 + timedelta(days=10)) == []  # too soon

    day40 = T0 + timedelta(days=40)
    report = recycle(site.workspace, site.store, site.pipeline, now=day40)
    assert report.counts() == {"reposted": 1}  # one at a time: the channel has a free queue again after it
    assert recycle(site.workspace, site.store, site.pipeline, now=day40).counts() == {}
    assert site.texts()[-1] == ("posts/a.md", "Archive: Antikythera", "planned", "2026-02-14")

    site.send_due(day40 + timedelta(days=1))
    recycle(site.workspace, site.store, site.pipeline, now=day40 + timedelta(days=1))  # b: sent longest ago
    site.send_due(day40 + timedelta(days=2))
    assert [text for source, text, _, _ in site.texts()] == [
        "New: Antikythera",
        "New: Bayeux",
        "Archive: Antikythera",
        "Archive: Bayeux",
    ]
    day80 = day40 + timedelta(days=40)
    for step in range(4):
        recycle(site.workspace, site.store, site.pipeline, now=day80 + timedelta(days=step))
        site.send_due(day80 + timedelta(days=step + 1))
    texts = [text for _, text, _, _ in site.texts()]
    assert texts[4:] == ["Again: Antikythera", "Again: Bayeux"]  # then recycle_max (2) is reached
    assert all(state == "sent" for _, _, state, _ in site.texts())
    assert site.store.find("posts/a.md", "file").generation == 3  # type: ignore[union-attr]


def test_fresh_posts_are_not_displaced(site: Site, make_workspace: WriteWorkspace) -> None:
    ingest(site.workspace, site.store, now=T0, pipeline=site.pipeline)
    site.send_due(T0 + timedelta(days=3))
    (site.workspace.root / "posts" / "c.md").write_text("---\ntitle: Fresh\n---\nNews.\n", encoding="utf-8")
    day40 = T0 + timedelta(days=40)
    ingest(site.workspace, site.store, now=day40, pipeline=site.pipeline)
    assert recycle(site.workspace, site.store, site.pipeline, now=day40).counts() == {}
    planned = site.store.list(states=[DeliveryState.PLANNED])
    assert [d.source for d in planned] == ["posts/c.md"]


def test_recycling_without_two_variants_is_a_config_error(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.replace('recycle_templates = ["again.j2", "ago.j2"]\n', ""))
    result = CliRunner().invoke(app, ["config", "validate", "--config", str(root)])
    assert result.exit_code == 1
    assert "recycle_every needs recycle_templates with at least two templates" in result.output


def test_the_docs_recycling_rule_is_valid(make_workspace: WriteWorkspace) -> None:
    toml = sources_docs_blocks("Evergreen")[0]
    root = make_workspace('[channels.file]\nnetwork = "file"\n\n' + toml)
    [rule] = load_workspace(root / "config" / "tagcast.toml").settings.rules
    assert (rule.recycle_every, rule.recycle_max) == (timedelta(days=30), 3)


def test_preview_recycling_shows_what_goes_next_and_queues_nothing(site: Site) -> None:
    import json

    ingest(site.workspace, site.store, now=T0, pipeline=site.pipeline)
    site.send_due(T0 + timedelta(days=3))
    before = site.texts()
    at = "2026-02-14T08:00:00+00:00"
    args = ["preview", "--recycling", "--json", "--now", at, "--config", str(site.workspace.root)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    [post] = json.loads(result.stdout)
    assert (post["source"], post["parts"], post["scheduled_at"]) == (
        "posts/a.md",
        ["Archive: Antikythera"],
        "2026-02-14T09:00:00+00:00",
    )
    assert post["slot_note"].startswith("recycled; ")
    assert site.texts() == before


def test_the_same_text_never_goes_out_twice_in_a_row_on_a_channel_even_from_two_articles(
    make_workspace: WriteWorkspace,
) -> None:
    """Three articles with one title and two variants that show only the title: the variant after an
    article's own is passed over when it would repeat the channel's last post."""
    same = "---\ntitle: On this day\ntags: [Evergreen]\n---\n{}\n"
    posts = {f"{name}.md": same.format(name) for name in "abc"}
    root = make_workspace(
        recycling_config(recycle_max=None), posts, templates=VARIANTS | {"again.j2": "{{ title }}"}
    )
    site = Site(root)
    try:
        ingest(site.workspace, site.store, now=T0, pipeline=site.pipeline)
        site.send_due(T0 + timedelta(days=4))
        for day in range(40, 140):
            recycle(site.workspace, site.store, site.pipeline, now=T0 + timedelta(days=day))
            site.send_due(T0 + timedelta(days=day + 1))
        rows = site.texts()
    finally:
        site.store.close()
    texts = [text for _, text, _, _ in rows]
    assert all(state == "sent" for _, _, state, _ in rows)
    assert len(texts) >= 12  # three fresh posts and three rounds of re-shares at least
    assert set(texts) == {"New: On this day", "On this day", "Archive: On this day"}
    shared = texts[2:]  # from the last fresh post on: every post after it is a re-share
    repeats = [(before, after) for before, after in pairwise(shared) if before == after]
    assert repeats == []
    sources = [source for source, _, _, _ in rows]
    assert {sources.count(name) for name in ("posts/a.md", "posts/b.md", "posts/c.md")} != {1}
