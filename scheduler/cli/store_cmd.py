"""``tagcast store ...``: the outbox database itself. ``store copy`` moves a queue to another database, e.g.
from the default SQLite file to PostgreSQL before running several ``tagcast serve`` workers.

Passwords in database URLs never reach the terminal: every URL is shown redacted, and error messages are
scrubbed of the passwords of the URLs given. SQLAlchemy and rich are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.common import ConfigOption, handle_errors, print_json, stderr, stdout

if TYPE_CHECKING:
    from scheduler.store.copy import CopyReport

store_app = typer.Typer(
    name="store",
    help="The outbox database: copy it to another database (SQLite <-> PostgreSQL).",
    no_args_is_help=True,
)

ToOption = Annotated[
    str,
    typer.Option(
        "--to",
        help="Database URL to copy into, e.g. postgresql+psycopg://user:pass@host/tagcast.",
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from", help="Database URL to copy from (default: the workspace's store.url).", show_default=False
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace what the target already holds (its deliveries are deleted).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object for scripts.")]
BatchOption = Annotated[int, typer.Option("--batch", min=1, help="Rows read and written at a time.")]


def redacted(url: str) -> str:
    """``url`` with its password shown as ``***`` (nothing at all when it does not parse)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL: show nothing that could hold a secret
        return "(unparsable database URL)"


def scrub(text: str, urls: list[str]) -> str:
    """``text`` with each URL replaced by its redacted form, and each URL's password masked in every form
    (:class:`~scheduler.config.redact.Redactor`)."""
    from sqlalchemy.engine import make_url

    from scheduler.config.redact import Redactor

    passwords: list[str] = []
    for url in urls:
        try:
            password = make_url(url).password
        except Exception:
            continue
        if password:
            passwords.append(str(password))
    return Redactor(passwords, shown={url: redacted(url) for url in urls})(text)


def _root_and_source(config: str | None, source: str | None) -> tuple[Path, str]:
    """The folder relative SQLite paths are read from, and the source URL (the workspace's by default)."""
    from scheduler.config.loader import load_workspace
    from scheduler.errors import UserError

    try:
        workspace = load_workspace(config)
    except UserError:
        if source is None:
            raise
        return Path.cwd(), source
    return workspace.root, source or workspace.settings.store.url


def _same_database(first: str, second: str, root: Path) -> bool:
    """Whether two URLs name one database (relative SQLite paths resolved against ``root``)."""
    from scheduler.store.dialect import resolve_url

    def key(url: str) -> str:
        resolved = resolve_url(url, root)
        return resolved.set(password=None, drivername=resolved.get_backend_name()).render_as_string()

    return key(first) == key(second)


def _warn_about_live_workers(source: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from rich.markup import escape

    now = datetime.now(UTC)
    live = [w for w in source.workers(since=now - timedelta(minutes=5)) if w.stopped_at is None]
    if live:
        names = ", ".join(f"{w.id} (pid {w.pid} on {w.host})" for w in live)
        stderr().print(
            f"[yellow]warning:[/] tagcast serve ran on the source in the last 5 minutes: {escape(names)}. "
            "Stop it before copying, and point store.url at the target before starting it again.",
            soft_wrap=True,
        )


def _run_copy(root: Path, source_url: str, target_url: str, *, force: bool, batch: int) -> CopyReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scheduler.store import Store
    from scheduler.store.copy import copy_outbox

    with Store.open(source_url, root=root) as source, Store.open(target_url, root=root) as target:
        _warn_about_live_workers(source)
        columns = (
            TextColumn("{task.description:<14}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=stderr(), transient=False) as bar:
            tasks: dict[str, Any] = {}

            def progress(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total)
                bar.update(tasks[table], completed=done)

            return copy_outbox(source, target, batch=batch, force=force, progress=progress)


@store_app.command("copy")
@handle_errors
def copy(
    to: ToOption,
    *,
    from_: FromOption = None,
    force: ForceOption = False,
    batch: BatchOption = 1000,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Copy the outbox (deliveries with their ids and idempotency keys, history, pauses) to another database.

    Stop `tagcast serve` first; afterwards point store.url at the target. The target must be empty unless
    --force; the counts are checked at the end, and a failed copy leaves the target unchanged.
    """
    from scheduler.errors import UserError

    urls = [to] + ([from_] if from_ else [])
    try:
        root, source_url = _root_and_source(config, from_)
        urls.append(source_url)
        if _same_database(source_url, to, root):
            raise UserError(
                f"--to {redacted(to)} is the outbox being copied", hint="name another database with --to"
            )
        report = _run_copy(root, source_url, to, force=force, batch=batch)
    except UserError as exc:
        exc.message = scrub(exc.message, urls)
        exc.hint = scrub(exc.hint, urls) if exc.hint else exc.hint
        raise
    summary = {
        "from": redacted(source_url),
        "to": redacted(to),
        "schema_version": report.schema_version,
        "copied": report.target,
        "verified": report.target == report.source,
    }
    if as_json:
        print_json(summary)
        return
    copied = ", ".join(f"{n} {table}" for table, n in report.target.items())
    stdout().print(
        f"copied {copied} (schema version {report.schema_version}) "
        f"from {summary['from']} to {summary['to']}; counts verified",
        soft_wrap=True,
        markup=False,
    )
    stdout().print(
        f'next: set [store] url = "{summary["to"]}" (with its password), then start tagcast serve',
        markup=False,
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(store_app)
