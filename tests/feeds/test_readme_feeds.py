"""The "Feeds and imports" section of README.md runs as printed: its config is valid, its commands work."""

from __future__ import annotations

import re
import shlex
import textwrap

from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from tests.conftest import REPO, WriteWorkspace
from tests.fakes.feeds import FeedEntry, rss2


def section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## Feeds and imports", 1)[1].split("\n## ", 1)[0]


def test_the_readme_source_config_is_valid(make_workspace: WriteWorkspace) -> None:
    toml = re.search(r"```toml\n(.*?)```", section(), re.DOTALL)
    assert toml is not None
    root = make_workspace('[channels.file]\nnetwork = "file"\n\n' + toml.group(1))
    source = load_workspace(root / "config" / "tagcast.toml").settings.sources["history"]
    assert (source.url, source.interval.total_seconds(), source.backfill) == (
        "https://history.example/feed.xml",
        900,
        3,
    )


def test_the_readme_commands_run(make_workspace: WriteWorkspace) -> None:
    root = make_workspace('[channels.file]\nnetwork = "file"\n')
    (root / "feeds").mkdir()
    entry = FeedEntry(
        "g1", "Khalkhin Gol", "https://history.example/kg", "<p>20 August 1939.</p>", ("History",)
    )
    (root / "feeds" / "history.xml").write_bytes(rss2([entry]))
    (root / "catalogue.csv").write_text(
        textwrap.dedent("""\
            Headline,Summary
            Dunkirk,Seven hundred boats.
            """),
        encoding="utf-8",
    )
    code = re.search(r"```sh\n(.*?)```", section(), re.DOTALL)
    assert code is not None
    commands = [line.split("#", 1)[0].strip() for line in code.group(1).splitlines()]
    assert len(commands) == 3
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "tagcast"
        args = [str(root / arg) if arg.endswith((".xml", ".csv")) else arg for arg in argv[1:]]
        result = CliRunner().invoke(app, [*args, "--config", str(root)])
        assert result.exit_code == 0, (command, result.output)
    assert (root / "posts" / "imported" / "catalogue").is_dir()


def test_the_docs_source_config_is_valid(make_workspace: WriteWorkspace) -> None:
    docs = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    toml = re.search(r"```toml\n(.*?)```", docs, re.DOTALL)
    assert toml is not None
    root = make_workspace('[channels.file]\nnetwork = "file"\n\n' + toml.group(1))
    source = load_workspace(root / "config" / "tagcast.toml").settings.sources["history"]
    assert (source.max_bytes, source.timeout.total_seconds()) == (10_000_000, 30)
