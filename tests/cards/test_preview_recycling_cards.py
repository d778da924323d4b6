"""``tagcast preview --recycling`` shows a recycled post with the link card the service will send, made by
the same card step as every preview (the page from the fake site on loopback, remembered in the outbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fakes.pages import PagesFake
from intranet import ALLOW_TOML
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.ingest import ingest
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.recycling_workspace import VARIANTS, recycling_config, send_due

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
CONFIG = recycling_config("bsky", recycle_max=None)
OG_DESCRIPTION = "How the 1939 battle – fought on the Mongolian steppe – shaped the war."


def workspace(make_workspace: WriteWorkspace, url: str, config: str) -> Path:
    post = f"---\ntitle: Khalkhin Gol\nurl: {url}\ntags: [Evergreen]\n---\nThe steppe.\n"
    root = make_workspace(config, {"a.md": post}, templates=VARIANTS)
    loaded = load_workspace(root / "config" / "tagcast.toml")
    with Store.open(loaded.settings.store.url, root=root) as store:
        ingest(loaded, store, now=T0)
        send_due(store, T0 + timedelta(days=3))
    return root


def recycling(root: Path) -> tuple[int, str, str]:
    at = "2026-02-14T08:00:00+00:00"
    args = ["preview", "--recycling", "--json", "--now", at, "--config", str(root)]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def test_preview_recycling_fills_the_link_card(make_workspace: WriteWorkspace, site: PagesFake) -> None:
    root = workspace(make_workspace, site.url("/og"), CONFIG + ALLOW_TOML)
    code, out, err = recycling(root)
    assert code == 0
    assert err == (
        f"warning: posts/a.md (bsky): link card {site.url('/og')}: no thumbnail from "
        f"{site.url('/img/thumb.png')}: only https:// images are fetched\n"
    )
    [post] = json.loads(out)
    assert post["parts"] == ["Archive: Khalkhin Gol"] and post["slot_note"].startswith("recycled; ")
    assert post["card"] == {
        "uri": site.url("/og"),
        "title": "Khalkhin Gol",
        "description": OG_DESCRIPTION,
        "thumb": None,  # the page's og:image is http, which preview's fitter (as the service's) refuses
    }
    assert site.hits("/og") == 1


def test_preview_recycling_warns_about_a_page_that_cannot_be_read(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    root = workspace(make_workspace, site.url("/missing"), CONFIG + ALLOW_TOML)
    code, out, err = recycling(root)
    assert code == 0
    [post] = json.loads(out)
    assert post["card"]["description"] == ""
    assert (
        f"warning: posts/a.md (bsky): link card {site.url('/missing')}: the page cannot be read: it answered "
        "404 Not Found" in " ".join(err.split())
    )
