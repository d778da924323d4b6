"""The outbox database holds article text and error reasons: its file is 0600 and its folder 0700.

Real files under a typical umask of 022: a new outbox (and its -wal and -shm files), one an older tagcast left
readable by everyone in the workspace's var/, and a folder and file elsewhere whose owner chose their modes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store.store_support import make_post
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.store import Store

URL = "sqlite:///var/tagcast.db"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _typical_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def write_something(store: Store) -> None:
    now = datetime.now(UTC)
    store.upsert(make_post("posts/a.md", "file"), now=now)


def test_a_new_outbox_is_private_with_its_wal_files(tmp_path: Path) -> None:
    with Store.open(URL, root=tmp_path) as store:
        write_something(store)
        var = tmp_path / "var"
        assert mode(var) == 0o700
        assert mode(var / "tagcast.db") == 0o600
        side = [var / "tagcast.db-wal", var / "tagcast.db-shm"]
        assert all(path.exists() for path in side)
        assert [mode(path) for path in side] == [0o600, 0o600]


def test_queue_add_creates_a_private_outbox(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(f'[store]\nurl = "{URL}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["queue", "add", "--config", str(root)])
    assert result.exit_code == 0, result.output
    assert (mode(root / "var"), mode(root / "var" / "tagcast.db")) == (0o700, 0o600)


def test_an_outbox_an_older_tagcast_left_open_is_tightened(tmp_path: Path) -> None:
    var = tmp_path / "var"
    with Store.open(URL, root=tmp_path) as running:  # a service that keeps its -wal and -shm files
        write_something(running)
        var.chmod(0o755)
        for path in var.iterdir():
            path.chmod(0o644)
        with Store.open(URL, root=tmp_path) as store:
            write_something(store)
        assert mode(var) == 0o700
        names = ("tagcast.db", "tagcast.db-wal", "tagcast.db-shm")
        assert {path.name: mode(path) for path in var.iterdir()} == dict.fromkeys(names, 0o600)


def test_a_folder_and_a_file_elsewhere_keep_the_modes_their_owner_chose(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    shared.chmod(0o750)
    with Store.open(f"sqlite:///{shared}/new.db", root=tmp_path) as store:
        write_something(store)
    assert mode(shared) == 0o750  # the folder was theirs
    assert mode(shared / "new.db") == 0o600  # the file is new: private

    (shared / "new.db").chmod(0o640)  # the owner shares it with a group on purpose
    with Store.open(f"sqlite:///{shared}/new.db", root=tmp_path) as store:
        write_something(store)
    assert mode(shared / "new.db") == 0o640
