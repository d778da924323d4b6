"""``tagcast serve``: run the scheduling service (forever, or ``--once`` for cron).

Heavy modules are imported inside the command, so that ``tagcast --help`` stays fast.
"""

from __future__ import annotations

import logging
import signal
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.common import ConfigOption, handle_errors, open_workspace, stderr

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace
    from scheduler.store import Store


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


OnceOption = Annotated[
    bool,
    typer.Option("--once", help="Deliver everything due now, then exit (for cron)."),
]
LogLevelOption = Annotated[
    LogLevel,
    typer.Option("--log-level", help="How much to log on stderr.", case_sensitive=False),
]
ExitAfterStartOption = Annotated[
    bool,
    typer.Option(
        "--exit-after-start", hidden=True, help="Start up (recover, ingest), then exit: for benchmarks."
    ),
]


def configure_logging(level: LogLevel) -> None:
    """One line per event on stderr, with the time; APScheduler's own chatter only at debug."""
    logging.basicConfig(
        level=level.value.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(message)s",
        force=True,
    )
    if level is not LogLevel.debug:
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)


def redacted_url(url: str) -> str:
    """The store URL with any password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: show nothing that could be a secret
        return "(unparsable store.url)"


def banner(workspace: Workspace, store: Store) -> None:
    """The start banner on stderr: workspace, outbox, and every channel with its state."""
    from rich.markup import escape

    console = stderr()
    settings = workspace.settings
    console.print(f"[bold]tagcast serve[/] workspace {escape(str(workspace.root))}")
    console.print(f"  config  {escape(str(workspace.config_path))}")
    console.print(f"  outbox  {escape(redacted_url(settings.store.url))}")
    paused = store.paused()
    for name, channel in sorted(settings.channels.items()):
        if not channel.enabled:
            state = "[dim]disabled[/]"
        elif name in paused:
            pause = paused[name]
            until = pause.until.isoformat() if pause.until else "resumed"
            state = f"[yellow]paused until {escape(until)}[/]: {escape(pause.reason)}"
        else:
            state = "[green]active[/]"
        console.print(f"  channel {escape(name)} ({escape(channel.network)}): {state}")
    for name in sorted(set(paused) - set(settings.channels)):
        console.print(f"  channel {escape(name)} (not configured): paused: {escape(paused[name].reason)}")


def _stop_during_start_up(signum: int, frame: object) -> None:
    """SIGTERM before the service installed its own handlers: nothing was claimed yet, so just exit 0."""
    raise SystemExit(0)


@handle_errors
def serve(
    once: OnceOption = False,
    config: ConfigOption = None,
    log_level: LogLevelOption = LogLevel.info,
    exit_after_start: ExitAfterStartOption = False,
) -> None:
    """Send every queued post at its slot, exactly once; watch posts/ and the config for changes.

    SIGTERM or Ctrl-C stops claiming, lets sends in flight finish (service.shutdown_timeout) and exits 0;
    SIGHUP reloads the config. With --once, deliver what is due now and exit.
    """
    signal.signal(signal.SIGTERM, _stop_during_start_up)
    configure_logging(log_level)
    workspace = open_workspace(config)
    from scheduler.service.runner import serve as run_service

    code = run_service(
        workspace, once=once, exit_after_start=exit_after_start, on_open=lambda s: banner(workspace, s)
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(serve)
