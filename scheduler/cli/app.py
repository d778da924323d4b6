"""``tagcast``: the root command. Each group lives in its own module and registers itself here."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli import (
    channels,
    config_cmd,
    import_cmd,
    init_cmd,
    preview,
    queue,
    serve,
    status,
    store_cmd,
    web,
)

app = typer.Typer(
    name="tagcast",
    help="Turn hashtagged articles into exact posts for every network, scheduled and sent exactly once.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    # Markdown, not rich markup: "[default: ...]" stays text, and a docstring's line breaks are re-flowed.
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(wanted: bool) -> None:
    if wanted:
        from scheduler import __version__

        typer.echo(f"tagcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="Print tagcast's version and exit.",
        ),
    ] = False,
) -> None:
    pass


for module in (preview, channels, queue, status, serve, config_cmd, init_cmd, store_cmd, web, import_cmd):
    module.register(app)


def main() -> None:
    """The ``tagcast`` program (:func:`scheduler.cli.main.main`: the quick queue commands first)."""
    from scheduler.cli.main import main as run

    run()
