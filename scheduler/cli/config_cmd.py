"""``tagcast config show|get|set|unset|validate|edit|schema``: read and change ``config/tagcast.toml`` safely.

Every change is validated as a whole config before it is written, and written atomically; comments, key order
and formatting elsewhere stay as they were. Secrets are never printed (``**********``) and never written.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.common import (
    EXIT_PROBLEM,
    ConfigOption,
    JsonOption,
    handle_errors,
    open_workspace,
    print_json,
)

if TYPE_CHECKING:
    from scheduler.config.edit import Change
    from scheduler.config.settings import Settings

KeyArgument = Annotated[
    str,
    typer.Argument(
        metavar="KEY",
        help="Dotted key, e.g. channels.bsky.schedule, schedules.daily.slots, rules.0.channels.",
    ),
]
ValueArgument = Annotated[
    str,
    typer.Argument(
        metavar="VALUE",
        help='Read by the key\'s type: text, 42, true, 30m, 2026-12-25, a list as "a, b" or \'["a", "b"]\'.',
    ),
]

config_app = typer.Typer(
    name="config",
    help="Show, check and change config/tagcast.toml (comments and formatting are kept).",
    no_args_is_help=True,
)


class ConfigFile:
    """The config file a command works on, found like every command finds it (``--config``, upwards)."""

    def __init__(self, config: str | None) -> None:
        from scheduler.config.loader import display_path, find_workspace, workspace_root

        self.path = find_workspace(config)
        self.root = workspace_root(self.path)
        self.shown = display_path(self.path, Path.cwd())

    def read(self) -> str:
        from scheduler.errors import ConfigError

        try:
            return self.path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.shown}: cannot read the config file: {exc}") from None

    def save(self, old: str, change: Change, action: str) -> None:
        """Validate the whole changed config and write it; on problems, say which were there before."""
        from scheduler.errors import ConfigError
        from scheduler.validation import check_config_text, save_config_text

        try:
            settings = save_config_text(self.path, change.text, self.root, shown=self.shown)
        except ConfigError as exc:
            if not exc.problems:
                raise
            before = {_without_lines(p) for p in check_config_text(old, self.root, shown=self.shown).problems}
            new = [p for p in exc.problems if _without_lines(p) not in before]
            old_ones = [p for p in exc.problems if _without_lines(p) in before]
            hint = f"{self.shown} was not changed"
            if old_ones:
                hint += f"; {len(old_ones)} of these problems were there before (`tagcast config validate`)"
            raise ConfigError(
                f"{action} refused: the config would be invalid", problems=new + old_ones, hint=hint
            ) from None
        self._warn_unused(settings, change)

    def _warn_unused(self, settings: Settings, change: Change) -> None:
        """Warn when the change sets a channel key its network does not use (saved all the same)."""
        from scheduler.config.locate import toml_key_lines
        from scheduler.validation import unused_key_warnings

        env = self.root / ".env"
        lines = toml_key_lines(change.text)
        for warning in unused_key_warnings(settings, lines, self.shown, str(env) if env.is_file() else None):
            if warning.startswith((f"{change.key} ", f"{change.key}.")):
                typer.echo(f"warning: {warning}", err=True)


def _without_lines(problem: str) -> str:
    return re.sub(r" \([^()]*:\d+\)", "", problem)


@handle_errors
def show(
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object for scripts (with --sources: one array of key, value, source).",
        ),
    ] = False,
    sources: Annotated[
        bool,
        typer.Option(
            "--sources", help="Show where each value comes from: default, file:line, .env, env var."
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the effective configuration (file < .env < environment). Secrets print as **********."""
    from scheduler.config.sources import effective_config, value_sources

    workspace = open_workspace(config)
    if sources:
        values = value_sources(
            workspace.settings, workspace.toml_text, workspace.root, shown=workspace.display_config
        )
        if as_json:
            print_json([value.to_json() for value in values])
            return
        _print_sources([(v.key, v.value, v.source) for v in values])
        return
    data = effective_config(workspace.settings)
    if as_json:
        print_json(data)
        return
    import tomlkit

    sys.stdout.write(tomlkit.dumps(_without_none(data)))


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _print_sources(rows: list[tuple[str, object, str]]) -> None:
    import json

    shown = [(f"{key} = {json.dumps(value, ensure_ascii=False)}", source) for key, value, source in rows]
    width = min(max((len(left) for left, _ in shown), default=0), 72)
    for left, source in shown:
        typer.echo(f"{left.ljust(width)}  # {source}")


@handle_errors
def get(
    key: KeyArgument,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the value as JSON, whatever its type.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Print the effective value of KEY (text as is, anything else as JSON; --json always JSON)."""
    from scheduler.config.edit import get_key
    from scheduler.config.values import format_value

    value = get_key(open_workspace(config).settings, key)
    if as_json:
        print_json(value)
    else:
        typer.echo(format_value(value))


@handle_errors
def set_(key: KeyArgument, value: ValueArgument, config: ConfigOption = None) -> None:
    """Set KEY to VALUE in the config file, after checking the whole resulting config."""
    from scheduler.config.edit import set_key

    target = ConfigFile(config)
    text = target.read()
    change = set_key(text, key, value, shown=target.shown)
    if not change.changed:
        typer.echo(f"{change.key} already has that value; {target.shown} not changed", err=True)
        return
    target.save(text, change, f"set {change.key}")
    where = f"{target.shown}:{change.line}" if change.line else target.shown
    typer.echo(f"set {change.key} ({where})", err=True)
    _warn_override(change.key, target.root)


@handle_errors
def unset(key: KeyArgument, config: ConfigOption = None) -> None:
    """Remove KEY from the config file (a value, a table or a rules entry): its default applies again."""
    from scheduler.config.edit import unset_key

    target = ConfigFile(config)
    text = target.read()
    change = unset_key(text, key, shown=target.shown)
    target.save(text, change, f"unset {change.key}")
    typer.echo(f"removed {change.key} from {target.shown}", err=True)
    _warn_override(change.key, target.root)


def _warn_override(key: str, root: Path) -> None:
    from scheduler.config.keys import split_key
    from scheduler.config.sources import environment_source

    source = environment_source(split_key(key), root)
    if source:
        typer.echo(f"note: {source} overrides this key, so the effective value is not the file's", err=True)


@handle_errors
def validate(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Check the config completely and list every problem at once; exit 1 when there is any. Warnings (a
    channel key its network does not use) are listed too, and leave the exit code 0."""
    from scheduler.validation import check_config_text

    target = ConfigFile(config)
    report = check_config_text(target.read(), target.root, shown=target.shown)
    if as_json:
        print_json({"problems": report.problems, "warnings": report.warnings})
    else:
        for problem in report.problems:
            typer.echo(f"✗ {problem}")
        for warning in report.warnings:
            typer.echo(f"warning: {warning}")
        if report.settings is not None and not report.problems:
            settings = report.settings
            warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
            typer.echo(
                f"{target.shown} is valid: {len(settings.channels)} channel(s), "
                f"{len(settings.rules)} rule(s), {len(settings.schedules)} schedule(s){warned}"
            )
        else:
            typer.echo(f"{len(report.problems)} problem(s) in {target.shown}")
    if report.problems or report.settings is None:
        raise typer.Exit(EXIT_PROBLEM)


@handle_errors
def edit(config: ConfigOption = None) -> None:
    """Open the config in $VISUAL or $EDITOR; save it only if it is valid (else edit again or drop)."""
    from scheduler.cli.config_editor import edit_config

    target = ConfigFile(config)
    edit_config(target.path, target.root, target.shown)


@handle_errors
def schema() -> None:
    """Print the JSON Schema of config/tagcast.toml (generated from tagcast's models)."""
    from scheduler.config.schema import schema_text

    sys.stdout.write(schema_text())


def register(app: typer.Typer) -> None:
    config_app.command()(show)
    config_app.command()(get)
    config_app.command(name="set", context_settings={"ignore_unknown_options": True})(set_)
    config_app.command()(unset)
    config_app.command()(validate)
    config_app.command()(edit)
    config_app.command()(schema)
    app.add_typer(config_app, name="config")
