"""``tagcast serve``: run the scheduling service (forever, or ``--once`` for cron).

``--http 127.0.0.1:9464`` serves ``GET /healthz`` and ``GET /metrics`` (off by default; loopback unless
another host is named); ``--log-format json`` writes one JSON object per line for log shippers. Every
configured secret is masked in every log line (:mod:`scheduler.service.logs`).

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
    from scheduler.service.endpoint import Address
    from scheduler.store import Store


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


OnceOption = Annotated[
    bool,
    typer.Option("--once", help="Deliver everything due now, then exit (for cron)."),
]
LogLevelOption = Annotated[
    LogLevel,
    typer.Option("--log-level", help="How much to log on stderr.", case_sensitive=False),
]
LogFormatOption = Annotated[
    LogFormat,
    typer.Option(
        "--log-format",
        help="text: one line per event; json: one JSON object per line (ts, level, event, message, "
        "delivery_id, channel, source, ...) for log shippers.",
        case_sensitive=False,
    ),
]
HttpOption = Annotated[
    str | None,
    typer.Option(
        "--http",
        metavar="HOST:PORT",
        help="Serve GET /healthz and GET /metrics (Prometheus) here, e.g. 127.0.0.1:9464; a bare PORT "
        "listens on loopback only. Off by default.",
        show_default=False,
    ),
]
ExitAfterStartOption = Annotated[
    bool,
    typer.Option(
        "--exit-after-start", hidden=True, help="Start up (recover, ingest), then exit: for benchmarks."
    ),
]


def configure_logging(level: LogLevel, fmt: LogFormat = LogFormat.text) -> None:
    """One line per event on stderr (text with the time, or JSON), secrets masked once the config is read;
    APScheduler's and httpx's own chatter only at debug."""
    from scheduler.service import logs

    logs.configure(level.value, logs.LogFormat(fmt.value), stream=sys.stderr)


def parse_http(value: str | None) -> Address | None:
    """``--http``: None when not given; a usage error when it is not HOST:PORT."""
    from scheduler.service.endpoint import Address

    if value is None:
        return None
    try:
        return Address.parse(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--http") from None


def redacted_url(url: str) -> str:
    """The store URL with any password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: show nothing that could be a secret
        return "(unparsable store.url)"


def banner(workspace: Workspace, store: Store, *, plain: bool = False) -> None:
    """The start banner on stderr: workspace, outbox, and every channel with its state (secrets masked).
    ``plain``: as log lines (one JSON object each with ``--log-format json``) instead of rich text."""
    from rich.markup import escape
    from rich.text import Text

    from scheduler.config.redact import Redactor

    redact = Redactor.from_settings(workspace.settings)
    settings = workspace.settings
    lines = [
        f"[bold]tagcast serve[/] workspace {escape(str(workspace.root))}",
        f"  config  {escape(str(workspace.config_path))}",
        f"  outbox  {escape(redacted_url(settings.store.url))}",
    ]
    paused = store.paused()
    for name, channel in sorted(settings.channels.items()):
        if not channel.enabled:
            state = "[dim]disabled[/]"
        elif name in paused:
            pause = paused[name]
            until = pause.until.isoformat() if pause.until else "resumed"
            state = f"[yellow]paused until {escape(until)}[/]: {escape(redact(pause.reason))}"
        else:
            state = "[green]active[/]"
        lines.append(f"  channel {escape(name)} ({escape(channel.network)}): {state}")
    for name in sorted(set(paused) - set(settings.channels)):
        lines.append(
            f"  channel {escape(name)} (not configured): paused: {escape(redact(paused[name].reason))}"
        )
    if plain:
        log = logging.getLogger("tagcast.service")
        for line in lines:
            log.info("%s", Text.from_markup(line).plain.strip(), extra={"event": "serve.banner"})
        return
    console = stderr()
    for line in lines:
        console.print(line)


def _stop_during_start_up(signum: int, frame: object) -> None:
    """SIGTERM before the service installed its own handlers: nothing was claimed yet, so just exit 0."""
    raise SystemExit(0)


@handle_errors
def serve(
    *,
    once: OnceOption = False,
    config: ConfigOption = None,
    log_level: LogLevelOption = LogLevel.info,
    log_format: LogFormatOption = LogFormat.text,
    http: HttpOption = None,
    exit_after_start: ExitAfterStartOption = False,
) -> None:
    """Send every queued post at its slot, exactly once; watch posts/ and the config for changes.

    SIGTERM or Ctrl-C stops claiming, lets sends in flight finish (service.shutdown_timeout) and exits 0;
    SIGHUP reloads the config. With --once, deliver what is due now and exit. With --http, serve /healthz
    (200 while the clock runs and the outbox answers, else 503 with the reason) and /metrics.
    """
    signal.signal(signal.SIGTERM, _stop_during_start_up)
    address = parse_http(http)
    configure_logging(log_level, log_format)
    workspace = open_workspace(config)
    from scheduler.service.logs import redact_secrets_of
    from scheduler.service.runner import serve as run_service

    redact_secrets_of(workspace.settings)
    code = run_service(
        workspace,
        once=once,
        exit_after_start=exit_after_start,
        on_open=lambda s: banner(workspace, s, plain=log_format is LogFormat.json),
        http=address,
    )
    raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(serve)
