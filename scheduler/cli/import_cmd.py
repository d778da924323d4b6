"""``tagcast import FILE``: rows of a CSV, JSON or JSON Lines file become Markdown articles in ``posts/``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scheduler.cli.common import EXIT_PROBLEM, EXIT_USAGE, ConfigOption, handle_errors, open_workspace, stderr

MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        metavar="KEY=COLUMN",
        help="Take article key KEY from column (or JSON key) COLUMN, e.g. title=Headline (repeatable).",
        show_default=False,
    ),
]


def parse_mapping(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        key, sep, column = item.partition("=")
        if not sep or not key.strip() or not column.strip():
            from scheduler.cli.common import fail

            raise fail(f"--map {item!r}: write KEY=COLUMN, e.g. --map title=Headline", code=EXIT_USAGE)
        mapping[key.strip()] = column.strip()
    return mapping


@handle_errors
def import_(
    file: Annotated[Path, typer.Argument(help="A .csv, .json (a list of objects) or .jsonl file.")],
    map_: MapOption = None,
    into: Annotated[
        Path | None,
        typer.Option(help="Folder for the articles [default: posts/imported/FILE-NAME].", show_default=False),
    ] = None,
    format_: Annotated[
        str | None, typer.Option("--format", help="csv, json or jsonl [default: from the name].")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write one Markdown article per row into posts/, checked as any article is.

    Bad rows are reported with their row number (exit 1) while the good ones are written; importing the
    same file again changes nothing. The service and `tagcast queue add` queue the new files as usual.
    """
    from rich.markup import escape

    from scheduler.importing import import_rows

    mapping = parse_mapping(map_ or [])
    workspace = open_workspace(config)
    folder = into or Path(workspace.settings.defaults.posts) / "imported" / file.stem
    target = folder if folder.is_absolute() else workspace.root / folder
    console = stderr()
    if console.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
        ) as bar:
            task = bar.add_task(f"importing {file.name}")

            def advance(done: int) -> None:
                bar.update(task, description=f"importing {file.name}: row {done}")

            report = import_rows(
                file, into=target, root=workspace.root, mapping=mapping, kind=format_, progress=advance
            )
    else:
        report = import_rows(file, into=target, root=workspace.root, mapping=mapping, kind=format_)
    for error in report.errors:
        console.print(f"[bold red]bad row:[/] {escape(str(error))}", soft_wrap=True)
    counts = report.counts()
    shown = folder.as_posix()
    console.print(
        f"{report.rows} row(s) of {file.name}: {counts['new']} new, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {len(report.errors)} bad; articles in {shown}/",
        soft_wrap=True,
    )
    if report.errors:
        raise typer.Exit(EXIT_PROBLEM)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
