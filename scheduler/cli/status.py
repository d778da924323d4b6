"""``tagcast status``: the outbox at a glance: per channel counts, next due, pauses, the last errors, and the
``tagcast serve`` workers seen in the last day (host, pid, last heartbeat, what each holds).

``--check`` prints only what needs a person and exits 1 when anything does
(:mod:`scheduler.cli.status_check`). Every configured secret is masked in what it prints.

SQLAlchemy and rich are imported inside the functions, so that ``tagcast --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.common import (
    EXIT_PROBLEM,
    ConfigOption,
    JsonObjectOption,
    handle_errors,
    open_workspace,
    print_json,
    print_table,
    stdout,
)

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace
    from scheduler.store import Store

ERRORS_SHOWN = 10
WORKERS_SEEN_WITHIN_HOURS = 24

CheckOption = Annotated[
    bool,
    typer.Option(
        "--check",
        help="Print only what needs a person (articles that cannot be read, failed or unknown deliveries, "
        "paused channels, queued work and no service, a service that crashed, no recent worker heartbeat, a "
        "stalled dispatcher) and exit 1 if anything does, else 0: for cron and monitoring agents.",
    ),
]
MaxHeartbeatAgeOption = Annotated[
    str,
    typer.Option(
        "--max-heartbeat-age",
        metavar="DURATION",
        help="With --check: a problem when no worker beat for this long (e.g. 10m, 1h).",
    ),
]


def redacted(data: Any, redact: Any) -> Any:
    """``data`` (JSON-like) with every string passed through ``redact``."""
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {key: redacted(value, redact) for key, value in data.items()}
    if isinstance(data, list):
        return [redacted(value, redact) for value in data]
    return data


def collect(workspace: Workspace, store: Store) -> dict[str, Any]:
    """The status as JSON-ready data: ``channels`` (name -> counts, next_due, paused) and ``errors``."""
    from scheduler.cli.outbox import channel_zone, iso

    counts = store.counts()
    next_due = store.next_due_by_channel()
    paused = store.paused()
    names = sorted(set(workspace.settings.channels) | set(counts) | set(paused))
    channels: dict[str, Any] = {}
    for name in names:
        zone = channel_zone(workspace, name)
        configured = workspace.settings.channels.get(name)
        pause = paused.get(name)
        channels[name] = {
            "network": configured.network if configured else None,
            "enabled": configured.enabled if configured else False,
            "counts": counts.get(name, {}),
            "next_due": iso(next_due.get(name), zone),
            "paused": {"until": iso(pause.until, zone), "reason": pause.reason} if pause else None,
        }
    errors = [
        {
            "id": delivery.id,
            "channel": delivery.channel,
            "source": delivery.source,
            "state": delivery.state.value,
            "reason": reason,
        }
        for delivery, reason in store.recent_errors(ERRORS_SHOWN)
    ]
    return {"channels": channels, "errors": errors, "workers": collect_workers(workspace, store)}


def collect_workers(workspace: Workspace, store: Store) -> list[dict[str, Any]]:
    """Workers with a heartbeat in the last day, newest first: ``state`` is ``alive``, ``stopped`` (cleanly)
    or ``silent`` (no heartbeat for three watch intervals: probably dead; its leases run out and another
    worker takes its deliveries over)."""
    from datetime import UTC, datetime, timedelta

    from scheduler.cli.outbox import iso
    from scheduler.service.workers import silence_limit

    now = datetime.now(UTC)
    silence = silence_limit(workspace.settings.service.watch_interval)
    out: list[dict[str, Any]] = []
    for worker in store.workers(since=now - timedelta(hours=WORKERS_SEEN_WITHIN_HOURS)):
        if worker.stopped_at is not None:
            state = "stopped"
        else:
            state = "alive" if worker.alive(now, silence) else "silent"
        out.append(
            {
                "id": worker.id,
                "host": worker.host,
                "pid": worker.pid,
                "started_at": iso(worker.started_at, UTC),
                "heartbeat_at": iso(worker.heartbeat_at, UTC),
                "seconds_since_heartbeat": max(0, round((now - worker.heartbeat_at).total_seconds())),
                "state": state,
                "holding": list(worker.holding),
            }
        )
    return out


def _when(value: str | None) -> str:
    from datetime import datetime

    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M %z") if value else "-"


def show(data: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from scheduler.safe_text import shown

    table = Table(show_edge=False, header_style="bold")
    for column in ("channel", "network", "queued", "next due", "paused"):
        table.add_column(column, no_wrap=column in ("channel", "next due"))
    for name, info in data["channels"].items():
        counts = ", ".join(f"{n} {state}" for state, n in sorted(info["counts"].items())) or "-"
        pause = info["paused"]
        paused = (
            Text(f"until {pause['until'] or 'resumed'}: {shown(pause['reason'])}", style="yellow")
            if pause
            else "-"
        )
        label = name if info["enabled"] else f"{name} (disabled)"
        table.add_row(label, info["network"] or "?", counts, _when(info["next_due"]), paused)
    print_table(table)
    console = stdout()
    if data["errors"]:
        errors = Table(show_edge=False, header_style="bold", title="last errors", title_justify="left")
        for column in ("id", "channel", "state", "reason"):
            errors.add_column(column, no_wrap=column != "reason")
        for error in data["errors"]:
            errors.add_row(error["id"], error["channel"], error["state"], Text(error["reason"]))
        print_table(errors)
    else:
        console.print("no errors")
    show_workers(data["workers"])


def show_workers(workers: list[dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout()
    if not workers:
        console.print("no workers seen in the last day")
        return
    table = Table(show_edge=False, header_style="bold", title="workers", title_justify="left")
    for column in ("worker", "host", "pid", "last heartbeat", "state", "holds"):
        table.add_column(column, no_wrap=column in ("worker", "host"))
    styles = {"alive": "green", "stopped": "dim", "silent": "yellow"}
    for worker in workers:
        table.add_row(
            escape(worker["id"]),
            escape(worker["host"]),
            str(worker["pid"]),
            f"{worker['seconds_since_heartbeat']}s ago",
            f"[{styles[worker['state']]}]{worker['state']}[/]",
            str(len(worker["holding"])),
        )
    print_table(table)
    for worker in workers:
        if worker["holding"]:
            console.print(f"{escape(worker['id'])} holds: {', '.join(worker['holding'])}", soft_wrap=True)


def _max_age(text: str) -> Any:
    from datetime import timedelta

    from scheduler.config.durations import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-heartbeat-age") from None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise typer.BadParameter(
            f"{text!r} is not a positive duration, e.g. 10m", param_hint="--max-heartbeat-age"
        )
    return value


def check(workspace: Workspace, *, as_json: bool, max_heartbeat_age: str) -> None:
    """``--check``: the problems, or "ok"; exit 1 when there are any."""
    import socket
    from datetime import UTC, datetime

    from scheduler.cli.outbox import open_store
    from scheduler.cli.status_check import needs_a_person, stalled
    from scheduler.config.redact import Redactor
    from scheduler.pipeline import Pipeline

    max_age = _max_age(max_heartbeat_age)
    redact = Redactor.from_settings(workspace.settings)
    pipeline = Pipeline(workspace)
    folders = [path for path in pipeline.article_paths(None) if path.exists()]  # no posts/: nothing to read
    unreadable = pipeline.load(folders)[1] if folders else []
    with open_store(workspace) as store:
        problems = needs_a_person(
            store,
            now=datetime.now(UTC),
            max_heartbeat_age=max_age,
            host=socket.gethostname(),
            unreadable=unreadable,
            sources=set(workspace.settings.sources),
            token_warning=workspace.settings.alerts.token_warning,
            channels=set(workspace.settings.channels),
        )
        problems += stalled(store, now=datetime.now(UTC), stall_after=workspace.settings.service.stall_after)
    problems = [redact(problem) for problem in problems]
    if as_json:
        print_json({"ok": not problems, "problems": problems})
    elif problems:
        stdout().print(f"{len(problems)} thing(s) need a person:", soft_wrap=True)
        for problem in problems:
            stdout().print(f"- {problem}", soft_wrap=True, markup=False)
    else:
        stdout().print("ok: nothing needs a person")
    if problems:
        raise typer.Exit(EXIT_PROBLEM)


@handle_errors
def status(
    *,
    as_json: JsonObjectOption = False,
    config: ConfigOption = None,
    check_only: CheckOption = False,
    max_heartbeat_age: MaxHeartbeatAgeOption = "10m",
) -> None:
    """Per channel: how many deliveries in each state, the next one due, and pauses; then the last errors and
    the workers seen in the last day. With --check: only what needs a person, and exit 1 if anything does."""
    from scheduler.cli.outbox import open_store
    from scheduler.config.redact import Redactor

    workspace = open_workspace(config)
    if check_only:
        check(workspace, as_json=as_json, max_heartbeat_age=max_heartbeat_age)
        return
    with open_store(workspace) as store:
        data = redacted(collect(workspace, store), Redactor.from_settings(workspace.settings))
    if as_json:
        print_json(data)
    else:
        show(data)


def register(app: typer.Typer) -> None:
    app.command()(status)
