"""``config edit`` with a scripted editor: saved when valid, offered again when not, never half-written."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.config_edit.sample import COMMENTED, Invoke

REWRITE = """\
import pathlib, sys
path = pathlib.Path(sys.argv[-1])
count_file = pathlib.Path(__file__).with_suffix(".count")
count = int(count_file.read_text()) if count_file.exists() else 0
count_file.write_text(str(count + 1))
edits = {edits!r}
old, new = edits[min(count, len(edits) - 1)]
path.write_text(path.read_text().replace(old, new))
"""


def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *edits: tuple[str, str]) -> Path:
    """Set $EDITOR to a script that applies ``edits[n]`` on its n-th run; returns the run counter file."""
    script = tmp_path / "fake_editor.py"
    script.write_text(REWRITE.format(edits=list(edits)), encoding="utf-8")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    return script.with_suffix(".count")


def runs(counter: Path) -> int:
    return int(counter.read_text()) if counter.exists() else 0


HANDLE = ('handle = "alice.test"', 'handle = "edited.test"')
BAD = ("max_hashtags = 3", 'max_hashtags = "many"')


def test_valid_edit_is_saved(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = editor(tmp_path, monkeypatch, HANDLE)
    result = tagcast("config", "edit")
    assert result.exit_code == 0, result.stderr
    assert "saved config/tagcast.toml" in result.stderr
    assert config_file.read_text(encoding="utf-8") == COMMENTED.replace(*HANDLE)
    assert runs(counter) == 1
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["tagcast.toml"], "the copy is removed"


def test_a_key_the_network_does_not_use_is_saved_with_a_warning(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As ``config validate`` and ``config set`` do: the key does no harm, so the edit is saved, and the
    warning names the key, its line and the networks that use it."""
    editor(tmp_path, monkeypatch, (HANDLE[0], HANDLE[0] + '\nchat_id = "42"'))
    result = tagcast("config", "edit")
    assert result.exit_code == 0, result.stderr
    assert "saved config/tagcast.toml" in result.stderr
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert ".chat_id (config/tagcast.toml:" in warning
    assert "bluesky does not use this key (telegram does); remove it" in warning
    assert 'chat_id = "42"' in config_file.read_text(encoding="utf-8")


def test_no_change_says_so(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor(tmp_path, monkeypatch, ("no such text", "x"))
    mtime = config_file.stat().st_mtime_ns
    result = tagcast("config", "edit")
    assert result.exit_code == 0
    assert "no changes" in result.stderr
    assert config_file.stat().st_mtime_ns == mtime


def test_invalid_then_fixed(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = editor(tmp_path, monkeypatch, BAD, ('max_hashtags = "many"', "max_hashtags = 4"))
    result = tagcast("config", "edit", input="y\n")
    assert result.exit_code == 0, result.stderr
    assert "channels.bsky.max_hashtags (config/tagcast.toml:" in result.stderr
    assert "edit again?" in result.stderr
    assert runs(counter) == 2
    assert config_file.read_text(encoding="utf-8") == COMMENTED.replace(
        "max_hashtags = 3", "max_hashtags = 4"
    )


def test_invalid_and_given_up(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = editor(tmp_path, monkeypatch, BAD)
    mtime = config_file.stat().st_mtime_ns
    result = tagcast("config", "edit", input="n\n")
    assert result.exit_code == 1
    assert "your changes were discarded" in result.stderr
    assert runs(counter) == 1
    assert config_file.read_bytes() == COMMENTED.encode()
    assert config_file.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["tagcast.toml"]


def test_visual_wins_over_editor(
    tagcast: Invoke, config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor(tmp_path, monkeypatch, HANDLE)
    monkeypatch.setenv("VISUAL", "false")
    result = tagcast("config", "edit")
    assert result.exit_code == 1
    assert "the editor exited with status 1" in result.stderr
    assert config_file.read_bytes() == COMMENTED.encode()


def test_missing_editor(tagcast: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "/nonexistent/editor")
    result = tagcast("config", "edit")
    assert result.exit_code == 1
    assert "cannot start the editor" in result.stderr
    assert "EDITOR" in result.stderr
