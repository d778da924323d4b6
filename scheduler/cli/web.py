"""``tagcast web``: the local dashboard (a week calendar of the outbox, the preview cards, actions)."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    ConfigOption,
    fail,
    handle_errors,
    open_workspace,
    stderr,
)

DEFAULT_PORT = 8464


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@handle_errors
def web(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="TAGCAST_WEB_TOKEN",
            help="Access token every request must bring (open the page once with ?token=...). "
            "Prefer the environment variable TAGCAST_WEB_TOKEN: a command line is visible to other users.",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Serve the dashboard: a week calendar of the queued deliveries, the preview cards, and the actions of
    `tagcast queue` (cancel, retry, send now, reschedule) as buttons.

    It listens on 127.0.0.1 by default. Binding to another address needs a token (--token or
    TAGCAST_WEB_TOKEN), or it refuses to start.
    """
    import socket

    import uvicorn

    from scheduler.cli.outbox import open_store
    from scheduler.web.app import create_app

    loopback = is_loopback(host)
    if not loopback and not token:
        raise fail(
            f"refusing to serve the dashboard on {host}, which other machines can reach, without a token; "
            "set TAGCAST_WEB_TOKEN (or --token), or keep the default --host 127.0.0.1",
            code=EXIT_USAGE,
        )
    workspace = open_workspace(config)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host.strip("[]"), port))
        listener.listen(2048)  # from here a browser's connection waits until uvicorn accepts it
    except OSError as exc:
        listener.close()
        raise fail(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another --port, or stop what uses it"
        ) from None
    shown = f"[{host}]" if ":" in host else host
    with open_store(workspace) as store:
        app = create_app(workspace, store, token=token or None, loopback_only=loopback)
        # No access log: a first request's address carries ?token=... .
        server = uvicorn.Server(uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off"))
        stderr().print(
            f"tagcast web: http://{shown}:{listener.getsockname()[1]}/"
            + (" (add ?token=... once)" if token else "")
            + "  Ctrl-C stops it",
            soft_wrap=True,
            highlight=False,
        )
        server.run(sockets=[listener])
    # The server returns only once it is stopped. A Ctrl-C after uvicorn installed its handlers comes back as
    # KeyboardInterrupt (exit 130); one just before that is swallowed by asyncio's runner: the same exit.
    raise typer.Exit(EXIT_INTERRUPTED)


def register(app: typer.Typer) -> None:
    app.command()(web)
