"""What every command shares: the workspace option, output consoles, and turning errors into exit codes.

Heavy modules (pydantic, Jinja2, SQLAlchemy, httpx) are imported inside commands, never here, so that
``tagcast --help`` stays fast.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from scheduler.cli.console import print_error, print_json, print_json_list, print_table, stderr, stdout

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="tagcast.toml or workspace folder "
        "[default: $TAGCAST_CONFIG, else config/tagcast.toml found upwards]",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON array for scripts.")]
JsonObjectOption = Annotated[bool, typer.Option("--json", help="Print one JSON object for scripts.")]


def open_workspace(config: str | None) -> Workspace:
    from scheduler.config.loader import load_workspace

    return load_workspace(config)


def fail(message: str, *, code: int = EXIT_PROBLEM) -> typer.Exit:
    print_error(message)
    return typer.Exit(code)


__all__ = [  # with what every command prints through, from scheduler.cli.console
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PROBLEM",
    "EXIT_USAGE",
    "ConfigOption",
    "JsonObjectOption",
    "JsonOption",
    "fail",
    "handle_errors",
    "open_workspace",
    "print_json",
    "print_json_list",
    "print_table",
    "stderr",
    "stdout",
]


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """A UserError prints its message (no traceback) and exits 1; Ctrl-C exits 130; a bug keeps its
    traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from scheduler.errors import UserError

        try:
            return func(*args, **kwargs)
        except UserError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            stderr().print("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper
