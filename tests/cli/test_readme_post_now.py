"""The README's tour as printed: its article (with an ``id``) reads, and "post it now" sends at once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from service.processes import clean_env

from scheduler.articles import load_articles
from scheduler.identity import article_identity
from tests.conftest import REPO


def tour_block() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("To watch a post go out right away", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert found is not None, "the README shows the commands of the tour"
    return found.group(1)


def test_the_post_it_now_tour_sends_the_article_at_once(tmp_path: Path) -> None:
    block = tour_block()
    assert "publish_at: now" in block and "tagcast serve --once" in block
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "posts", root / "posts")
    env = clean_env({"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outbox = root / "var" / "outbox" / "file"
    [text] = list(outbox.glob("*.txt"))  # only the new article: the shipped ones wait for their slots
    assert "Hello from tagcast" in text.read_text(encoding="utf-8")
    assert "A first post, sent at once." in text.read_text(encoding="utf-8")
    assert f"{text.stem}.json" in done.stdout.split()  # what `ls var/outbox/file/` printed


def test_the_tour_article_with_its_id_reads_as_written(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"```markdown\n(.*?)```", readme, re.DOTALL)
    assert found is not None
    (tmp_path / "nomonhan.md").write_text(found.group(1), encoding="utf-8")
    result = load_articles([tmp_path], root=tmp_path)
    assert result.errors == []
    [article] = result.articles
    assert article.id == "nomonhan-picture"
    assert article_identity(article) == "id:nomonhan-picture"
