"""Where commands write: the stdout and stderr consoles, tables, JSON, and the one-line error.

Without typer, so that the quick queue commands (:mod:`scheduler.cli.quick`) print through the very same
functions as the full ones; rich is imported when a console is first needed.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


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


def stdout() -> Console:
    return _console(stderr=False, columns=os.environ.get("COLUMNS"))


def stderr() -> Console:
    return _console(stderr=True, columns=os.environ.get("COLUMNS"))


@functools.cache
def _console(*, stderr: bool, columns: str | None) -> Console:
    """One console per stream and ``COLUMNS`` value: rich reads ``COLUMNS`` once, when a console is made, so a
    program that sets it later (a test runner invoking several commands in one process) gets a new one."""
    return _safe_console(stderr=stderr)


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


def print_error(message: str) -> None:
    """``error: message`` on stderr, as every command reports a problem the user can act on."""
    from rich.markup import escape

    stderr().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
