"""Slack and Threads take images only by a public https address: ``tagcast preview`` says which local image
such a channel leaves out (a note, not a problem: the post goes without it), and keeps the https ones."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.media.model import ImageRef
from scheduler.media.prepare import left_out_notes
from scheduler.models import Article
from tests.conftest import WriteWorkspace

from .pictures import oriented_jpeg

CONFIG = """\
[channels.sl]
network = "slack"

[channels.th]
network = "threads"

[channels.dc]
network = "discord"

[[rules]]
tags = ["Ships"]
channels = ["sl", "th", "dc"]
"""

ARTICLE = """\
---
title: Little ships
tags: [Ships]
image: img/photo.jpg
image_alt: Red over blue
---
Small boats crossed the Channel.
"""


def test_preview_notes_the_local_image_a_by_url_channel_leaves_out(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, {"ships.md": ARTICLE})
    oriented_jpeg(root / "posts" / "img" / "photo.jpg")

    result = CliRunner().invoke(app, ["preview", "--json", "--config", str(root)])
    assert result.exit_code == 0, result.stdout
    posts = {post["channel"]: post for post in json.loads(result.stdout)}
    assert (posts["sl"]["media"], posts["sl"]["problems"]) == ([], [])
    assert (posts["th"]["media"], posts["th"]["problems"]) == ([], [])
    assert [m["src"] for m in posts["dc"]["media"]] == ["img/photo.jpg"]

    result = CliRunner().invoke(app, ["preview", "--config", str(root)])
    assert result.exit_code == 0
    text = " ".join(re.sub(r"[│╭╮╰╯─]", "", result.stdout).split())
    for network in ("slack", "threads"):
        assert (
            f"image 1 (img/photo.jpg) left out: {network} takes only images at a public https address" in text
        )
    assert "left out: discord" not in text


def test_only_local_images_are_left_out_and_only_on_by_url_networks() -> None:
    article = Article(
        source="posts/a.md",
        title="A",
        body="",
        images=(ImageRef("maps/kg.jpg", "A map"), ImageRef("https://e.com/a.jpg", "A photo")),
    )
    for network in ("slack", "threads"):
        assert left_out_notes(article, (), network) == [
            f"image 1 (maps/kg.jpg) left out: {network} takes only images at a public https address"
        ]
    assert left_out_notes(article, (), "discord") == []
