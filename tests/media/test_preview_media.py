"""Images in ``tagcast preview`` (--json, the terminal view, --html) and ``tagcast check``, via the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fakes.images import ImageServer
from intranet import ALLOW_TOML
from PIL import Image
from typer.testing import CliRunner

from scheduler.cli.app import app
from tests.conftest import WriteWorkspace

from .pictures import noisy_jpeg, oriented_jpeg, transparent_png

CONFIG = """\
[channels.bsky]
network = "bluesky"
handle = "a.test"

[channels.tg]
network = "telegram"
chat_id = "@ships"

[channels.sl]
network = "slack"

[[rules]]
tags = ["Ships"]
channels = ["bsky", "tg", "sl"]
"""

ARTICLE = """\
---
title: Little ships
tags: [Ships]
images:
  - {src: img/photo.jpg, alt: "Red over blue"}
  - {src: img/clear.png, alt: "A green square"}
---
Small boats crossed the Channel.
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def workspace(make_workspace: WriteWorkspace, article: str = ARTICLE, config: str = CONFIG) -> Path:
    root = make_workspace(config, {"ships.md": article})
    oriented_jpeg(root / "posts" / "img" / "photo.jpg")
    transparent_png(root / "posts" / "img" / "clear.png")
    return root


def test_preview_json_has_the_media_of_each_post_after_processing(make_workspace: WriteWorkspace) -> None:
    root = workspace(make_workspace)
    code, out, _ = run("preview", "--json", "--config", str(root))
    assert code == 0
    posts = {post["channel"]: post for post in json.loads(out)}
    assert posts["bsky"]["problems"] == []
    photo, clear = posts["bsky"]["media"]
    assert set(photo) == {"src", "alt", "mime", "width", "height", "bytes"}
    assert (photo["src"], photo["alt"], photo["mime"], photo["width"], photo["height"]) == (
        "img/photo.jpg",
        "Red over blue",
        "image/jpeg",
        20,
        40,
    )
    assert (clear["mime"], clear["width"], clear["height"]) == ("image/png", 64, 64)
    [processed] = [
        p for p in (root / "var" / "media" / "files").iterdir() if p.stat().st_size == photo["bytes"]
    ]
    with Image.open(processed) as image:
        assert dict(image.getexif()) == {}
    tg = [(m["mime"], m["width"], m["height"]) for m in posts["tg"]["media"]]
    assert tg == [("image/jpeg", 20, 40), ("image/png", 64, 64)]  # the same files, fitted again
    assert posts["sl"]["media"] == []  # Slack shows only images at a public address
    assert posts["sl"]["left_out"] == [
        "image 1 (img/photo.jpg) left out: slack takes only images at a public https address",
        "image 2 (img/clear.png) left out: slack takes only images at a public https address",
    ]
    assert posts["bsky"]["left_out"] == posts["tg"]["left_out"] == []


def test_the_terminal_view_lists_each_image_and_what_is_left_out(make_workspace: WriteWorkspace) -> None:
    root = workspace(make_workspace)
    code, out, _ = run("preview", "--config", str(root))
    assert code == 0
    text = re.sub(r"[│╭╮╰╯─]", "", out)
    text = " ".join(text.split())
    assert re.search(r"image 1 img/photo\.jpg image/jpeg 20x40, [\d,]+ bytes alt Red over blue", text)
    assert re.search(r"image 2 img/clear\.png image/png 64x64, [\d,]+ bytes alt A green square", text)
    assert "image 1 (img/photo.jpg) left out: slack takes only images at a public https address" in text


def test_check_fails_on_a_missing_alt_text_and_names_the_channel(make_workspace: WriteWorkspace) -> None:
    root = workspace(make_workspace, ARTICLE.replace(', alt: "Red over blue"', ""))
    code, out, _ = run("check", "--config", str(root))
    assert code == 1
    assert (
        "posts/ships.md -> bsky: image 1 (img/photo.jpg): no alt text; describe the image with image_alt "
        "(or alt in images), or set require_alt = false on channel bsky"
    ) in " ".join(out.split())
    assert "-> tg:" not in out  # Telegram has no alt text field: nothing to require


def test_the_html_preview_embeds_thumbnails_with_their_alt_text(
    make_workspace: WriteWorkspace, tmp_path: Path
) -> None:
    root = workspace(make_workspace)
    out = tmp_path / "preview.html"
    code, _, _ = run("preview", "--html", str(out), "--config", str(root))
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.count('alt="Red over blue"') == 2  # bsky and tg
    images = re.findall(r'<img src="(data:image/[a-z]+;base64,[A-Za-z0-9+/=]+)" alt="([^"]*)"', page)
    assert len(images) == 4 and {alt for _, alt in images} == {"Red over blue", "A green square"}
    assert "https://" not in "".join(uri for uri, _ in images)
    assert page.count('class="image-left-out"') == 2  # Slack: both local images, each said


def test_an_https_image_is_previewed_and_downloaded_only_once(
    make_workspace: WriteWorkspace, trusted: ImageServer
) -> None:
    trusted.files["/boat.jpg"] = noisy_jpeg(900, 600)
    url = trusted.url("/boat.jpg")
    root = workspace(
        make_workspace,
        f'---\ntitle: Boat\ntags: [Ships]\nimage: {url}\nimage_alt: "A boat"\n---\nText.\n',
        CONFIG + ALLOW_TOML,  # the image server is on loopback
    )
    for _ in range(2):
        code, out, _ = run("preview", "--json", "--config", str(root))
        assert code == 0
        posts = {post["channel"]: post for post in json.loads(out)}
        assert [(m["src"], m["width"], m["height"]) for m in posts["bsky"]["media"]] == [(url, 900, 600)]
        assert [m["src"] for m in posts["sl"]["media"]] == [url]
    assert trusted.requests == ["/boat.jpg"]
