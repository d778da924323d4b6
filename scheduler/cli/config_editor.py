"""``tagcast config edit``: the config in the user's editor, validated before it replaces the real file."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from pathlib import Path

import typer

from scheduler.config.atomic import atomic_write_text
from scheduler.errors import ConfigError, UserError
from scheduler.validation import check_config_text


def editor_command() -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split like a shell would (``code --wait`` works)."""
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(command)


def run_editor(command: list[str], path: Path) -> None:
    try:
        finished = subprocess.run([*command, str(path)], check=False)
    except OSError as exc:
        raise UserError(
            f"cannot start the editor {shlex.join(command)}: {exc.strerror or exc}",
            hint="set $VISUAL or $EDITOR to your editor, e.g. EDITOR=nano",
        ) from None
    if finished.returncode != 0:
        raise UserError(f"the editor exited with status {finished.returncode}; nothing was saved")


def edit_config(path: Path, root: Path, shown: str) -> None:
    """Edit a copy beside the file (so ``#:schema ./...`` still resolves); replace the file only when the
    edited text is valid; on problems show them and offer to edit again."""
    original = path.read_bytes().decode("utf-8")
    command = editor_command()
    fd, name = tempfile.mkstemp(prefix=".tagcast-edit-", suffix=".toml", dir=path.parent)
    os.close(fd)
    copy = Path(name)
    keep_copy = False
    try:
        copy.write_bytes(original.encode("utf-8"))
        while True:
            run_editor(command, copy)
            edited = copy.read_bytes().decode("utf-8")
            if edited == original:
                typer.echo(f"no changes: {shown} left as it was", err=True)
                return
            report = check_config_text(edited, root, shown=shown)
            if report.ok:
                if path.read_bytes().decode("utf-8") != original:
                    keep_copy = True
                    raise ConfigError(
                        f"{shown} was changed by someone else while you were editing; it was not replaced",
                        hint=f"your version is kept in {copy}: merge it by hand",
                    )
                atomic_write_text(path, edited)
                typer.echo(f"saved {shown}", err=True)
                for warning in report.warnings:  # saved all the same, as `config validate` says
                    typer.echo(f"warning: {warning}", err=True)
                return
            typer.echo(f"{shown} would have {len(report.problems)} problem(s):", err=True)
            for problem in report.problems:
                typer.echo(f"  ✗ {problem}", err=True)
            if not typer.confirm("edit again?", default=True, err=True):
                raise ConfigError(f"your changes were discarded; {shown} left as it was")
    finally:
        if not keep_copy:
            with contextlib.suppress(FileNotFoundError):
                copy.unlink()
