"""What every command shares: the workspace option, output consoles, and turning errors into exit codes.

Heavy modules (pydantic, Jinja2, SQLAlchemy, httpx) are imported inside commands, never here, so that
``tagcast --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

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


def _safe_console(*, stderr: bool, width: int | None = None) -> Console:
    """A rich Console that writes no control character it did not make itself: an ESC or a bidi override
    in a file name or a title is printed as a visible escape (:func:`scheduler.safe_text.on_terminal`)."""

    from rich.console import Console
    from rich.segment import Segment

    from scheduler.safe_text import on_terminal

    class SafeConsole(Console):
        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            return super()._render_buffer(
                segment if segment.control else Segment(on_terminal(segment.text), segment.style)
                for segment in buffer
            )

    return SafeConsole(stderr=stderr, highlight=False, width=width)


@functools.cache
def stdout() -> Console:
    return _safe_console(stderr=False)


@functools.cache
def stderr() -> Console:
    return _safe_console(stderr=True)


def print_table(table: Table) -> None:
    """Print ``table`` on stdout. On a terminal it fits the window; piped or redirected, it is printed as wide
    as its widest row, so that no id, source or time is folded or cut for the program that reads it."""
    console = stdout()
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(1_000_000), table).maximum
    _safe_console(stderr=False, width=max(natural, 1)).print(table)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_json_list(items: Iterable[Any]) -> None:
    """``print_json(list(items))``, written an item at a time: a long list is never one string in memory."""
    from scheduler.cli.json_out import indented

    write = sys.stdout.write
    opening = "[\n  "
    for item in items:
        write(opening + indented(item, "\n  "))
        opening = ",\n  "
    write("[]\n" if opening == "[\n  " else "\n]\n")


def open_workspace(config: str | None) -> Workspace:
    from scheduler.config.loader import load_workspace

    return load_workspace(config)


def fail(message: str, *, code: int = EXIT_PROBLEM) -> typer.Exit:
    from rich.markup import escape

    stderr().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code)


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
