"""``tagcast status``: the outbox at a glance: per channel counts, next due, pauses, the last errors, and the
``tagcast serve`` workers seen in the last day (host, pid, last heartbeat, what each holds).

SQLAlchemy and rich are imported inside the functions, so that ``tagcast --help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from scheduler.cli.common import ConfigOption, JsonOption, handle_errors, open_workspace, print_json, stdout

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace
    from scheduler.store import Store

ERRORS_SHOWN = 10
WORKERS_SEEN_WITHIN_HOURS = 24


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

    table = Table(show_edge=False, header_style="bold")
    for column in ("channel", "network", "queued", "next due", "paused"):
        table.add_column(column)
    for name, info in data["channels"].items():
        counts = ", ".join(f"{n} {state}" for state, n in sorted(info["counts"].items())) or "-"
        pause = info["paused"]
        paused = (
            Text(f"until {pause['until'] or 'resumed'}: {pause['reason']}", style="yellow") if pause else "-"
        )
        label = name if info["enabled"] else f"{name} (disabled)"
        table.add_row(label, info["network"] or "?", counts, _when(info["next_due"]), paused)
    console = stdout()
    console.print(table)
    if data["errors"]:
        errors = Table(show_edge=False, header_style="bold", title="last errors", title_justify="left")
        for column in ("id", "channel", "state", "reason"):
            errors.add_column(column, no_wrap=column != "reason")
        for error in data["errors"]:
            errors.add_row(error["id"], error["channel"], error["state"], error["reason"])
        console.print(errors)
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
        table.add_column(column)
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
    console.print(table)
    for worker in workers:
        if worker["holding"]:
            console.print(f"{escape(worker['id'])} holds: {', '.join(worker['holding'])}", soft_wrap=True)


@handle_errors
def status(as_json: JsonOption = False, config: ConfigOption = None) -> None:
    """Per channel: how many deliveries in each state, the next one due, and pauses; then the last errors and
    the workers seen in the last day."""
    from scheduler.cli.outbox import open_store

    workspace = open_workspace(config)
    with open_store(workspace) as store:
        data = collect(workspace, store)
    if as_json:
        print_json(data)
    else:
        show(data)


def register(app: typer.Typer) -> None:
    app.command()(status)
