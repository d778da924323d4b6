"""The HTML preview (``tagcast preview --html`` and the web ``/posts``) shows what the terminal preview warns
about a post's link card, on that post's card: a page that cannot be read, and a page at a private address
(refused, so the post has no card)."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fakes.pages import PagesFake
from intranet import ALLOW_TOML
from typer.testing import CliRunner

from scheduler.cli.app import app as cli
from scheduler.config.loader import load_workspace
from scheduler.store import Store
from scheduler.web.app import create_app
from tests.conftest import WriteWorkspace

from .conftest import NOW, Client

CONFIG = """\
[defaults]
timezone = "UTC"
channels = ["bsky"]

[channels.bsky]
network = "bluesky"
handle = "alice.test"
"""
HINT = 'to fetch from private addresses (an intranet), set [media] private_addresses = "allow"'


def article(url: str) -> str:
    return f"---\ntitle: Khalkhin Gol\nurl: {url}\n---\nA short body.\n"


def bsky_card(page: str) -> str:
    """The HTML of the bsky post's card (an <article> element)."""
    [found] = re.findall(r"<article[^>]*>.*?</article>", page, flags=re.DOTALL)
    return html.unescape(found)


def preview_html(root: Path, out: Path) -> str:
    result = CliRunner().invoke(cli, ["preview", "--config", str(root), "--html", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_preview_html_shows_a_card_warning_on_its_post(
    make_workspace: WriteWorkspace, site: PagesFake, tmp_path: Path
) -> None:
    url = site.url("/missing")
    root = make_workspace(CONFIG + ALLOW_TOML, {"a.md": article(url)})
    card = bsky_card(preview_html(root, tmp_path / "out.html"))
    assert (
        '<p class="card-warning"><span class="warning-label">Warning:</span> '
        f"link card {url}: the page cannot be read: it answered 404 Not Found</p>"
    ) in card


def test_the_web_posts_page_shows_a_refused_page_on_its_post(
    make_workspace: WriteWorkspace, site: PagesFake
) -> None:
    url = site.url("/og")
    root = make_workspace(CONFIG, {"a.md": article(url)})  # private addresses refused: the default
    workspace = load_workspace(str(root))
    with Store.open(workspace.settings.store.url, root=root) as store:
        page = Client(create_app(workspace, store, clock=lambda: NOW)).get("/posts").text
    card = bsky_card(page)
    assert (
        f"Warning:</span> link card {url}: 127.0.0.1 is a loopback address: not fetched; the post goes "
        f"without a link card ({HINT})</p>"
    ) in card
    assert 'class="link-card' not in card
    assert site.hits("/og") == 0
