"""The README's Images example, run exactly as printed."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from scheduler.cli.app import app
from tests.conftest import REPO, WriteWorkspace

from .pictures import oriented_jpeg


def readme_article() -> str:
    section = REPO.joinpath("README.md").read_text(encoding="utf-8").split("\n## Images\n", 1)[1]
    match = re.search(r"```markdown\n(.*?)```", section.split("\n## ", 1)[0], re.DOTALL)
    assert match, "the README's Images section has a markdown example"
    return match.group(1)


def test_the_readme_article_with_an_image_previews_as_printed(make_workspace: WriteWorkspace) -> None:
    text = readme_article()
    root = make_workspace(
        '[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\n[defaults]\nchannels = ["bsky"]\n'
    )
    (root / "posts" / "little-ships.md").write_text(text, encoding="utf-8")
    oriented_jpeg(root / "posts" / "images" / "little-ships.jpg")
    result = CliRunner().invoke(app, ["preview", "--json", "--config", str(root)])
    assert result.exit_code == 0, result.stderr
    [post] = [p for p in json.loads(result.stdout) if p["source"] == "posts/little-ships.md"]
    assert post["problems"] == []
    assert [(m["src"], m["alt"], m["mime"]) for m in post["media"]] == [
        (
            "images/little-ships.jpg",
            "Small boats crossing the Channel towards Dunkirk, June 1940",
            "image/jpeg",
        )
    ]


def test_the_table_of_what_each_network_takes_matches_the_adapters() -> None:
    from scheduler.adapters.registry import load_adapter

    text = REPO.joinpath("docs", "articles.md").read_text(encoding="utf-8")
    table = text.split("| network | types | bytes per image | pixels | alt text |", 1)[1].split("\n\n", 1)[0]
    rows = [line.strip("|").split("|") for line in table.strip().splitlines()[1:]]
    assert len(rows) >= 10
    for cells in rows:
        names, _, size, _, alt = (cell.strip() for cell in cells)
        for name in names.split(", "):
            limits = load_adapter(name).media_limits
            assert limits is not None
            assert int(size.replace(",", "")) == limits.max_bytes, name
            assert (None if alt == "none" else int(alt)) == limits.alt_max, name
