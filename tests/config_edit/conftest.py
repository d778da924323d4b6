"""Fixtures for config editing: a config full of comments, a workspace holding it, and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from tests.config_edit.sample import COMMENTED, Invoke


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace whose config is :data:`COMMENTED`, with an empty posts/ folder."""
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(COMMENTED, encoding="utf-8")
    return root


@pytest.fixture
def config_file(workspace: Path) -> Path:
    return workspace / "config" / "tagcast.toml"


@pytest.fixture
def tagcast(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run ``tagcast ARGS`` in the workspace folder (so messages name ``config/tagcast.toml``)."""
    monkeypatch.chdir(workspace)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), input=input)

    return invoke
