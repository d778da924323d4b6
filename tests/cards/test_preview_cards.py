"""Preview shows each post's link card: ``card`` in ``--json``, a panel under the first part in the terminal,
a card under the first part in ``--html`` and on the dashboard's /posts; pages come from a fake site and are
remembered in the workspace's outbox, so a second preview fetches nothing."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fakes.images import ImageServer
from fakes.pages import PagesFake, png_bytes
from fakes.server import Reply
from intranet import ALLOW_TOML
from PIL import Image
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.media.cards import PreviewCards
from scheduler.media.model import Media
from scheduler.pipeline import Pipeline
from scheduler.web.preview_page import preview_page
from tests.conftest import WriteWorkspace

from .support import simple_fitter

CONFIG = (
    """\
[defaults]
timezone = "UTC"

[channels.bsky]
network = "bluesky"
handle = "alice.test"
thread = true

[channels.nocard]
network = "bluesky"
handle = "bob.test"
link_card = false

[channels.masto]
network = "mastodon"
base_url = "https://social.example"

[[rules]]
tags = ["History"]
channels = ["bsky", "nocard", "masto"]
"""
    + ALLOW_TOML
)  # the fake site is on loopback

NOW = "2026-06-01T08:00:00+00:00"
OG_DESCRIPTION = "How the 1939 battle – fought on the Mongolian steppe – shaped the war."


def article(url: str, body: str = "A short body.") -> str:
    return f"---\ntitle: Khalkhin Gol\nurl: {url}\ntags: [History]\n---\n{body}\n"


def preview(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["preview", "--config", str(root), "--now", NOW, *args])
    return result.exit_code, result.stdout, result.stderr


def test_preview_json_has_the_card_and_a_second_preview_fetches_nothing(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    root = make_workspace(CONFIG, {"a.md": article(site.url("/og"))})
    code, out, err = preview(root, "--json")
    assert code == 0
    thumb = site.url("/img/thumb.png")
    why = "only https:// images are fetched"
    assert (
        err == f"warning: posts/a.md (bsky): link card {site.url('/og')}: no thumbnail from {thumb}: {why}\n"
    )
    cards = {entry["channel"]: entry["card"] for entry in json.loads(out)}
    assert cards == {
        "bsky": {
            "uri": site.url("/og"),
            "title": "Khalkhin Gol",
            "description": OG_DESCRIPTION,
            "thumb": None,  # the page names its image over http: not fetched
        },
        "nocard": None,
        "masto": None,
    }
    assert site.hits("/og") == 1
    assert (root / "var" / "tagcast.db").is_file()  # the cache lives in the outbox
    code, again, _ = preview(root, "--json")
    assert code == 0
    assert {entry["channel"]: entry["card"] for entry in json.loads(again)} == cards
    assert site.hits("/og") == 1


def test_a_page_that_cannot_be_read_is_a_warning_not_a_problem(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    root = make_workspace(CONFIG, {"a.md": article(site.url("/missing"))})
    code, out, err = preview(root, "--json")
    assert code == 0
    bsky = next(entry for entry in json.loads(out) if entry["channel"] == "bsky")
    assert bsky["problems"] == []
    assert bsky["card"] == {
        "uri": site.url("/missing"),
        "title": "Khalkhin Gol",
        "description": "",
        "thumb": None,
    }
    assert " ".join(err.split()) == (
        f"warning: posts/a.md (bsky): link card {site.url('/missing')}: the page cannot be read: "
        "it answered 404 Not Found"
    )
    checked = CliRunner().invoke(app, ["check", "--config", str(root), "--now", NOW])
    assert checked.exit_code == 0  # check does not read pages: nothing to warn about, nothing wrong
    assert "link card" not in checked.stderr


def test_the_terminal_shows_the_card_under_the_first_part_only(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    body = " ".join(["The steppe was wide and the river slow."] * 12)  # a thread on Bluesky
    root = make_workspace(CONFIG, {"a.md": article(site.url("/og"), body)})
    code, out, _ = preview(root, "--channel", "bsky")
    assert code == 0
    assert "part 2" in out
    assert out.count("link card") == 1
    assert out.index("link card") < out.index("part 2")
    flat = " ".join(out.replace("│", " ").split())
    assert f"127.0.0.1:{site.base_url.rsplit(':', 1)[1]} Khalkhin Gol {OG_DESCRIPTION} no thumbnail" in flat


def test_preview_html_shows_the_card_with_its_thumbnail(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    body = " ".join(["The steppe was wide and the river slow."] * 12)
    root = make_workspace(CONFIG, {"a.md": article(site.url("/og"), body)})
    code, _, _ = preview(root, "--html", str(root / "out.html"))
    assert code == 0
    page = (root / "out.html").read_text(encoding="utf-8")
    assert page.count('<a class="link-card"') == 1  # bsky only, under its first part
    assert f'<a class="link-card" href="{site.url("/og")}"' in page
    assert OG_DESCRIPTION in page

    # with a thumb fitter (the media step's, in the service), the thumbnail is inlined
    workspace = load_workspace(str(root))
    fitted: list[tuple[str, int]] = []

    async def fit(src: str, max_bytes: int) -> Media | None:
        async with httpx.AsyncClient() as http:
            return await simple_fitter(root, http, fitted)(src, max_bytes)

    cards = PreviewCards(workspace, fit_thumb=fit)
    result = Pipeline(workspace, cards=cards).run(now=datetime(2026, 6, 1, 8, tzinfo=UTC))
    html = preview_page(result.posts, result.errors, workspace.settings.channels, root=root, generated=None)
    thumb = base64.b64encode(png_bytes()).decode()
    assert f'<img class="lc-thumb" src="data:image/png;base64,{thumb}" alt="">' in html
    assert fitted == [(site.url("/img/thumb.png"), 1_000_000)]
    assert site.hits("/og") == 1  # the page itself came from the cache


def test_preview_fits_the_pages_https_image_as_the_cards_thumbnail(
    make_workspace: WriteWorkspace, site: PagesFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ImageServer(tmp_path / "tls").running() as images:
        monkeypatch.setenv("SSL_CERT_FILE", str(images.ca_file))  # the way a user trusts another CA
        photo = io.BytesIO()
        Image.effect_noise((1600, 1200), 90).convert("RGB").save(photo, "PNG")  # 1.9 MB: over the 1 MB bound
        images.files["/steppe.png"] = photo.getvalue()
        page = f'<html><head><meta property="og:image" content="{images.url("/steppe.png")}"></head></html>'
        site.pages["/steppe"] = Reply(200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        root = make_workspace(CONFIG, {"a.md": article(site.url("/steppe"))})
        code, out, err = preview(root, "--json", "--channel", "bsky")
    assert (code, err) == (0, "")
    [entry] = json.loads(out)
    assert entry["card"]["thumb"] == images.url("/steppe.png")
    assert len(photo.getvalue()) > 1_000_000
    thumbs = list((root / "var" / "media").rglob("*.jpg")) + list((root / "var" / "media").rglob("*.png"))
    fitted = [path for path in thumbs if path.stat().st_size <= 1_000_000 and "downloads" not in path.parts]
    assert fitted, "the thumbnail was fitted under Bluesky's 1,000,000 bytes in the media cache"


def test_a_disabled_channel_shows_a_card_from_the_article_and_reads_no_page(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    config = '[defaults]\nchannels = ["bsky"]\n\n[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n'
    root = make_workspace(config + "enabled = false\n", {"a.md": article(site.url("/og"))})
    code, out, err = preview(root, "--json")
    assert (code, err) == (0, "")
    [entry] = json.loads(out)
    assert entry["card"] == {
        "uri": site.url("/og"),
        "title": "Khalkhin Gol",
        "description": "",
        "thumb": None,
    }
    assert site.hits("/og") == 0, "a channel that sends nothing reads no page"
    assert not (root / "var" / "tagcast.db").exists(), "and stores nothing"
