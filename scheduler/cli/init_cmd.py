"""``tagcast init [DIR]``: create a workspace in which ``tagcast preview`` works at once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scheduler.cli.common import handle_errors

DirArgument = Annotated[
    Path,
    typer.Argument(
        metavar="DIR",
        help="Folder of the new workspace (created if missing).",
        show_default="the current folder",
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite files that exist already.")]


@handle_errors
def init(directory: DirArgument = Path(), force: ForceOption = False) -> None:
    """Create a workspace: config/tagcast.toml explained in comments, templates, an example article,
    .env.example and .gitignore. Existing files are never overwritten without --force."""
    from scheduler.workspace_init import init_workspace

    result = init_workspace(directory, force=force)
    for name in result.created:
        typer.echo(f"created      {name}")
    for name in result.overwritten:
        typer.echo(f"overwrote    {name}")
    for name in result.updated:
        typer.echo(f"updated      {name}")
    where = "" if directory.resolve() == Path.cwd().resolve() else f" --config {directory}"
    typer.echo(
        f"\nNext: tagcast preview{where}    (see every post as it will be sent)\n"
        f"      tagcast config validate{where}\n"
        "      put secrets in .env (see .env.example), then enable channels in config/tagcast.toml"
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
