"""``tagcast channels list|test``: the configured channels, and whether each can post (without posting).

Heavy modules (httpx, adapters, rich tables) are imported inside the commands: `tagcast --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.channels_edit import add_commands
from scheduler.cli.common import (
    EXIT_PROBLEM,
    EXIT_USAGE,
    ConfigOption,
    JsonOption,
    fail,
    handle_errors,
    open_workspace,
    print_json,
    print_table,
    stdout,
)

if TYPE_CHECKING:
    from scheduler.adapters.base import Identity
    from scheduler.adapters.tokens import TokenExpiry
    from scheduler.config.loader import Workspace
    from scheduler.config.models import ChannelSettings

CHECK_TIMEOUT = 20.0
"""Seconds ``channels test`` waits for a network to answer."""


def _rows(workspace: Workspace) -> list[dict[str, Any]]:
    from scheduler.adapters.registry import installed

    settings = workspace.settings
    rows = []
    for name, channel in settings.channels.items():
        entry = installed().get(channel.network)
        rows.append(
            {
                "name": name,
                "network": channel.network,
                "adapter": entry.value if entry is not None else None,
                "schedule": channel.schedule or settings.defaults.schedule,
                "enabled": channel.enabled,
            }
        )
    return rows


@handle_errors
def list_channels(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """List every channel: its network, the adapter serving it, its schedule, and whether it is enabled."""
    rows = _rows(open_workspace(config))
    if as_json:
        print_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("channel", "network", "adapter", "schedule", "enabled"):
        table.add_column(column, overflow="fold")
    for row in rows:
        adapter = escape(row["adapter"]) if row["adapter"] else "[red]no adapter installed[/]"
        enabled = "yes" if row["enabled"] else "[dim]no[/]"
        table.add_row(escape(row["name"]), escape(row["network"]), adapter, escape(row["schedule"]), enabled)
    print_table(table)


NameArgument = Annotated[str, typer.Argument(help="The channel to test, as named in [channels.NAME].")]


@handle_errors
def test_channel(name: NameArgument, config: ConfigOption = None) -> None:
    """Check a channel's credentials without posting: print who it posts as, or exactly why it cannot.

    Exits 1 when the check fails. Secrets are never printed.
    """
    import asyncio

    from rich.markup import escape

    from scheduler.config.redact import Redactor
    from scheduler.errors import DeliveryError, TransientDeliveryError
    from scheduler.store.errors import StoreError

    workspace = open_workspace(config)
    channel = workspace.settings.channels.get(name)
    if channel is None:
        known = ", ".join(sorted(workspace.settings.channels)) or "none"
        message = f"no channel named '{name}' in {workspace.display_config} (channels: {known})"
        raise fail(message, code=EXIT_USAGE)
    label = f"{name} ({channel.network})"
    redact = Redactor.from_settings(workspace.settings)  # a server may echo a token in any answer
    try:
        identity = asyncio.run(_check(workspace, name, channel))
    except TransientDeliveryError as exc:
        reason = redact(exc.reason)
        raise fail(f"{label}: could not complete the check, try again later: {reason}") from None
    except DeliveryError as exc:
        raise fail(f"{label} cannot post: {redact(exc.reason)}", code=EXIT_PROBLEM) from None
    out = stdout()
    out.print(f"[green]ok[/] {escape(label)} posts as [bold]{escape(redact(identity.account))}[/]")
    if identity.url:
        out.print(f"  {escape(redact(identity.url))}")
    if identity.detail:
        out.print(f"  {escape(redact(identity.detail))}")
    for advice in identity.advice:
        out.print(f"  [yellow]{escape(redact(advice))}[/]")
    if identity.token is not None:
        try:
            _record_token(workspace, name, identity.token)
        except StoreError as exc:
            reason = escape(redact(str(exc)))
            out.print(f"  [yellow]the expiry is not kept for `tagcast status --check`: {reason}[/]")
    if not channel.enabled:
        out.print("  [yellow]the channel is disabled (enabled = false): nothing is sent to it[/]")


def _record_token(workspace: Workspace, name: str, token: TokenExpiry) -> None:
    """Keep the token's expiry in the outbox, for ``tagcast status --check``."""
    from datetime import UTC, datetime

    from scheduler.cli.outbox import open_store
    from scheduler.service.token_watch import record

    with open_store(workspace) as store:
        record(store, name, token, now=datetime.now(UTC))


async def _check(workspace: Workspace, name: str, channel: ChannelSettings) -> Identity:
    import httpx

    from scheduler import __version__
    from scheduler.adapters.registry import load_adapter

    adapter_class = load_adapter(channel.network)
    timeout = httpx.Timeout(CHECK_TIMEOUT, connect=10.0)
    headers = {"User-Agent": f"tagcast/{__version__}"}
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        adapter = adapter_class(name, channel, http=client, root=workspace.root)
        return await adapter.check()


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="channels",
        help="The configured channels: list, test credentials, add, remove.",
        no_args_is_help=True,
    )
    group.command("list")(list_channels)
    group.command("test")(test_channel)
    add_commands(group)
    app.add_typer(group)
