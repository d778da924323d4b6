"""The throw-away cluster's own rules: where the server binaries are looked for; skip, or fail on CI."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg import find_bindir, unavailable


def test_pg_bindir_is_looked_at_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("initdb", "pg_ctl", "postgres"):
        (tmp_path / name).write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path


def test_a_folder_without_the_server_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "initdb").write_text("#!/bin/sh\n", encoding="utf-8")  # a client-only install: no postgres
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    assert find_bindir() != tmp_path


def test_missing_server_skips_locally_and_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        unavailable("no initdb")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but PostgreSQL cannot be used: no initdb"):
        unavailable("no initdb")
