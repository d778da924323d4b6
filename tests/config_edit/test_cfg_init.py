"""``tagcast init``: a workspace in which ``tagcast preview`` works at once; nothing overwritten."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from scheduler.config.settings import Settings
from scheduler.validation import check_config_text
from scheduler.workspace_init import workspace_files


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_init_creates_a_working_workspace(tmp_path: Path) -> None:
    root = tmp_path / "new"
    result = run("init", str(root))
    assert result.exit_code == 0, result.stderr
    for name in (
        "config/tagcast.toml",
        "config/tagcast.schema.json",
        "config/templates/mastodon.j2",
        "config/templates/bluesky.j2",
        "config/templates/article.j2",
        "posts/welcome-to-tagcast.md",
        ".env.example",
        ".gitignore",
    ):
        assert (root / name).is_file(), name
        assert f"created      {name}" in result.stdout
    assert {".env", "var/"} <= set((root / ".gitignore").read_text(encoding="utf-8").splitlines())
    report = check_config_text((root / "config/tagcast.toml").read_text(encoding="utf-8"), root)
    assert report.ok, report.problems


def test_preview_works_at_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert run("init", str(root)).exit_code == 0
    result = run("preview", "--json", "--config", str(root), "--now", "2026-06-01T06:00:00+00:00")
    assert result.exit_code == 0, result.stderr
    posts = json.loads(result.stdout)
    assert {post["channel"] for post in posts} == {"file", "bluesky", "telegram"}
    assert all(post["problems"] == [] for post in posts), posts
    assert all(post["scheduled_at"] for post in posts)
    assert run("check", "--config", str(root), "--now", "2026-06-01T06:00:00+00:00").exit_code == 0
    assert run("config", "validate", "--config", str(root)).exit_code == 0


def test_every_section_is_explained() -> None:
    text = workspace_files()["config/tagcast.toml"].decode("utf-8")
    lines = text.splitlines()
    for section in Settings.model_fields:
        header = next(
            (
                n
                for n, line in enumerate(lines)
                if line.startswith((f"[{section}", f"[[{section}", f"{section} ="))
            ),
            None,
        )
        assert header is not None, f"{section} is missing from the init config"
        assert lines[header - 1].startswith("#") or "#" in lines[header], f"{section} has no comment"


def test_env_example_lists_the_secrets_of_the_example_channels() -> None:
    files = workspace_files()
    example = files[".env.example"].decode("utf-8")
    assert "TAGCAST_CHANNELS__BLUESKY__PASSWORD=" in example
    assert "TAGCAST_CHANNELS__TELEGRAM__BOT_TOKEN=" in example
    channels = tomllib.loads(files["config/tagcast.toml"].decode("utf-8"))["channels"]
    assert set(channels) == {"file", "bluesky", "telegram"}


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text("# mine\n", encoding="utf-8")
    result = run("init", str(root))
    assert result.exit_code == 1
    assert "config/tagcast.toml" in result.stderr
    assert "--force" in result.stderr
    assert (root / "config" / "tagcast.toml").read_text(encoding="utf-8") == "# mine\n"
    assert not (root / "posts").exists(), "nothing is written when anything would be overwritten"
    forced = run("init", str(root), "--force")
    assert forced.exit_code == 0
    assert "overwrote    config/tagcast.toml" in forced.stdout
    assert (root / "config" / "tagcast.toml").read_text(encoding="utf-8").startswith("#:schema ")


def test_existing_gitignore_gets_missing_lines(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".gitignore").write_text("node_modules/\n.env\n", encoding="utf-8")
    result = run("init", str(root))
    assert result.exit_code == 0
    assert (root / ".gitignore").read_text(encoding="utf-8") == "node_modules/\n.env\nvar/\n"
    assert "updated      .gitignore" in result.stdout


def test_init_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("init")
    assert result.exit_code == 0
    assert (tmp_path / "config" / "tagcast.toml").is_file()
    assert "Next: tagcast preview " in result.stdout
