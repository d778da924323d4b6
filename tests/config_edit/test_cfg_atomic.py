"""Atomic writes: the whole new file or the old one, permissions kept, no temporary file left behind."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scheduler.config.atomic import atomic_write_text, current_umask
from scheduler.errors import ConfigError
from scheduler.validation import save_config_text
from tests.config_edit.sample import COMMENTED, Invoke


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "tagcast.toml"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    atomic_write_text(path, "new\n")
    assert path.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tagcast.toml"]


def test_new_file_follows_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "fresh.toml"
    atomic_write_text(path, "x = 1\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~current_umask()


def test_a_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.toml"
    link.symlink_to(real)
    atomic_write_text(link, "new\n")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"


def test_failed_rename_leaves_no_temporary_file(tmp_path: Path) -> None:
    occupied = tmp_path / "tagcast.toml"
    occupied.mkdir()
    (occupied / "inside").write_text("keep\n", encoding="utf-8")
    with pytest.raises(OSError):
        atomic_write_text(occupied, "new\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tagcast.toml"]
    assert (occupied / "inside").read_text(encoding="utf-8") == "keep\n"


def test_unwritable_config_folder_is_a_user_error(tagcast: Invoke, config_file: Path) -> None:
    blocker = config_file.parent / "blocked"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot write"):
        save_config_text(blocker / "tagcast.toml", COMMENTED, config_file.parent.parent, shown="x.toml")
    assert config_file.read_bytes() == COMMENTED.encode()


def test_config_set_keeps_mode_600(tagcast: Invoke, config_file: Path) -> None:
    config_file.chmod(0o600)
    result = tagcast("config", "set", "channels.bsky.handle", "bob.test")
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert 'handle = "bob.test"' in config_file.read_text(encoding="utf-8")
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["tagcast.toml"]
