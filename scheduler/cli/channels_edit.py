"""``tagcast channels add`` and ``tagcast channels remove``: edit ``[channels.*]`` the same safe way as
``tagcast config set`` (whole config validated first, atomic write, comments kept).

The ``channels`` group lives in :mod:`scheduler.cli.channels`; it calls :func:`add_commands` to get these two.
"""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import ConfigOption, handle_errors

NameArgument = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="Channel name: lower-case letters, digits, '_' and '-', starting with a letter."
    ),
]
NetworkOption = Annotated[
    str, typer.Option("--network", "-n", help="Adapter name, e.g. mastodon, bluesky, telegram, file.")
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set", "-s", help="KEY=VALUE for the new channel (repeatable), e.g. --set handle=me.bsky.social."
    ),
]
DropRulesOption = Annotated[
    bool,
    typer.Option(
        "--drop-rules", help="Also take the channel out of rules (deleting rules left with no channel)."
    ),
]


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        pairs.append((key.strip(), value))
    return pairs


@handle_errors
def add(
    name: NameArgument, network: NetworkOption, values: SetOption = None, config: ConfigOption = None
) -> None:
    """Add a channel (the table channels.NAME) to the config file, after the last channel."""
    from scheduler.cli.config_cmd import ConfigFile
    from scheduler.config.channel_tables import add_channel
    from scheduler.config.credentials import secret_env_var, secret_keys

    target = ConfigFile(config)
    text = target.read()
    change = add_channel(text, name, network, _pairs(values or []), shown=target.shown)
    target.save(text, change, f"adding channel '{name}'")
    typer.echo(f"added [channels.{name}] ({target.shown}:{change.line})", err=True)
    secrets = secret_keys(network)
    if secrets:
        names = ", ".join(secret_env_var(name, key) for key in secrets)
        typer.echo(f"set its secret(s) in the environment or .env: {names}", err=True)
    typer.echo(
        f'no rule sends to it yet: add it to a rule, e.g. tagcast config set rules.0.channels "..., {name}"',
        err=True,
    )


@handle_errors
def remove(name: NameArgument, drop_rules: DropRulesOption = False, config: ConfigOption = None) -> None:
    """Remove a channel (the table channels.NAME); refused while rules send to it, unless --drop-rules."""
    from scheduler.cli.config_cmd import ConfigFile
    from scheduler.config.channel_tables import remove_channel
    from scheduler.config.keys import dotted

    target = ConfigFile(config)
    text = target.read()
    change, notes = remove_channel(text, name, drop_rules=drop_rules, shown=target.shown)
    target.save(text, change, f"removing channel {name!r}")
    for note in notes:
        typer.echo(note, err=True)
    typer.echo(f"removed [{dotted(['channels', name])}] from {target.shown}", err=True)


def add_commands(group: typer.Typer) -> None:
    """Add ``add`` and ``remove`` to the ``channels`` command group."""
    group.command()(add)
    group.command()(remove)
