"""``tagcast``: the root command. Each group lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from scheduler.cli import channels, config_cmd, init_cmd, preview, queue, serve, status, store_cmd

app = typer.Typer(
    name="tagcast",
    help="Turn hashtagged articles into exact posts for every network, scheduled and sent exactly once.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (preview, channels, queue, status, serve, config_cmd, init_cmd, store_cmd):
    module.register(app)


def main() -> None:
    app()
