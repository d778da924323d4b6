"""``tagcast queue``: put articles into the outbox, look at it, and act on single deliveries.

Every change is a transition kept with its reason (``tagcast queue show ID`` lists them). SQLAlchemy and rich
are imported inside the commands, so that ``tagcast --help`` stays fast.
"""
# ruff: noqa: PLR0917

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.common import (
    EXIT_PROBLEM,
    ConfigOption,
    JsonObjectOption,
    JsonOption,
    handle_errors,
    open_workspace,
    print_json,
    stderr,
    stdout,
)
from scheduler.cli.preview import NowOption, PathsArgument

if TYPE_CHECKING:
    from datetime import datetime


IdArgument = Annotated[
    str, typer.Argument(metavar="ID", help="The delivery id (see `tagcast queue list`).", show_default=False)
]
StateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--state",
        "-s",
        help="Only deliveries in this state (repeatable): planned, sending, sent, retrying, failed, "
        "cancelled, unknown.",
        show_default=False,
    ),
]
ChannelOption = Annotated[
    str | None, typer.Option("--channel", "-C", help="Only this channel.", show_default=False)
]

queue_app = typer.Typer(
    name="queue",
    help="The outbox: add articles; list, show, cancel, reschedule, send-now, retry, resolve; "
    "pause channels.",
    no_args_is_help=True,
)


@queue_app.command("add")
@handle_errors
def add(
    paths: PathsArgument = None,
    repost: Annotated[
        bool,
        typer.Option(
            "--repost",
            help="Post again on purpose: an article whose text changed after it was sent, and a copy of an "
            "article under another file name.",
        ),
    ] = False,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill",
            help="Also queue articles that a new outbox holds back (publish_at more than a day before its "
            "first use); a past publish_at means now.",
        ),
    ] = False,
    now: NowOption = None,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """Queue the articles (default: the posts folder) into the next free slots of their channels.

    Adding the same article again changes nothing; an edited one updates its queued text and keeps its slot;
    a renamed file keeps its delivery; a copy of an article under another name is reported, not queued.
    A new outbox holds back articles whose publish_at is more than a day old (--backfill sends them).
    Posts with problems are reported and not queued (exit 1).
    """
    from datetime import UTC, datetime

    from scheduler.cli.outbox import delivery_json, open_store
    from scheduler.ingest import ingest

    workspace = open_workspace(config)
    moment = datetime.now(UTC) if now is None else now if now.tzinfo else now.replace(tzinfo=UTC)
    with open_store(workspace) as store:
        report = ingest(workspace, store, paths or None, now=moment, repost=repost, backfill=backfill)
    if as_json:
        print_json(
            [
                {
                    **(delivery_json(item.delivery) if item.delivery else item.post.to_json()),
                    "source": item.source,  # a duplicate's delivery is its original's, under its own name
                    "outcome": item.outcome.value,
                    "detail": item.detail,
                    "problems": list(item.post.problems),
                }
                for item in report.items
            ]
        )
        from rich.markup import escape

        for error in report.errors:
            stderr().print(f"[bold red]article error:[/] {escape(str(error))}")
        for orphan in report.orphans:
            stderr().print(f"[yellow]note:[/] {escape(orphan.reason)}")
        note = report.held_back_note()
        if note:
            stderr().print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    else:
        from scheduler.cli.show_queue import show_ingest

        show_ingest(report)
    if not report.ok:
        raise typer.Exit(EXIT_PROBLEM)


@queue_app.command("list")
@handle_errors
def list_deliveries(
    state: StateOption = None,
    channel: ChannelOption = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many (for the next page).")] = 0,
    as_json: JsonOption = False,
    config: ConfigOption = None,
) -> None:
    """List deliveries by slot: one page of a table, or one JSON array with --json."""
    from scheduler.cli.outbox import open_store, require_channel, show_page
    from scheduler.store import DeliveryState

    known = [s.value for s in DeliveryState]
    for name in state or []:
        if name not in known:
            raise typer.BadParameter(
                f"{name!r} is not a state; use one of {', '.join(known)}", param_hint="--state"
            )
    workspace = open_workspace(config)
    with open_store(workspace) as store:
        if channel is not None:
            require_channel(workspace, channel, also=store.counts())
        page = store.list(states=state or None, channel=channel, limit=limit, offset=offset)
    show_page(page, as_json=as_json, offset=offset, limit=limit)


@queue_app.command("show")
@handle_errors
def show(delivery_id: IdArgument, as_json: JsonObjectOption = False, config: ConfigOption = None) -> None:
    """Everything about one delivery: its text, state, receipt and the history of its transitions."""
    from scheduler.cli.outbox import open_store, show_one

    workspace = open_workspace(config)
    with open_store(workspace) as store:
        delivery = store.get(delivery_id)
        history = store.history(delivery_id)
    show_one(delivery, history, as_json=as_json)


@queue_app.command("cancel")
@handle_errors
def cancel(delivery_id: IdArgument, config: ConfigOption = None) -> None:
    """Do not send this delivery (planned, retrying, failed or unknown ones)."""
    from scheduler.cli.outbox import open_store, said

    with open_store(open_workspace(config)) as store:
        said(store.cancel(delivery_id), "cancelled")


@queue_app.command("reschedule")
@handle_errors
def reschedule(
    delivery_id: IdArgument,
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="New time, ISO 8601; without an offset, in the zone of the delivery's schedule. A time "
            "already past means now.",
        ),
    ],
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Move a delivery to another time (planned, retrying, failed or cancelled ones; it becomes planned).

    A past time means now, like `tagcast queue send-now ID`.
    """
    from scheduler.cli.outbox import open_store, reschedule_to

    with open_store(open_workspace(config)) as store:
        reschedule_to(store, delivery_id, at, _moment(now))


@queue_app.command("send-now")
@handle_errors
def send_now(delivery_id: IdArgument, now: NowOption = None, config: ConfigOption = None) -> None:
    """Send a delivery now instead of at its slot (planned, retrying, failed or cancelled ones).

    A running `tagcast serve` sends it at once; else the next `tagcast serve --once` does.
    """
    from scheduler.cli.outbox import open_store, said_when

    moment = _moment(now)
    with open_store(open_workspace(config)) as store:
        moved = store.reschedule(
            delivery_id, moment, now=moment, reason="send now, asked by the operator (tagcast queue send-now)"
        )
    said_when(moved, moment)


def _moment(now: datetime | None) -> datetime:
    from datetime import UTC, datetime

    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo else now.replace(tzinfo=UTC)


@queue_app.command("retry")
@handle_errors
def retry(delivery_id: IdArgument, config: ConfigOption = None) -> None:
    """Send a failed or unknown delivery again, now, with the same idempotency key."""
    from scheduler.cli.outbox import open_store, said

    with open_store(open_workspace(config)) as store:
        said(store.retry(delivery_id), "planned again now:")


@queue_app.command("resolve")
@handle_errors
def resolve(
    delivery_id: IdArgument,
    sent: Annotated[
        str | None,
        typer.Option("--sent", metavar="URL", help="It was posted: record this URL.", show_default=False),
    ] = None,
    not_sent: Annotated[
        bool, typer.Option("--not-sent", help="It was not posted: plan it again now.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Settle a delivery whose outcome is unknown: say whether it was posted (check the account first)."""
    from scheduler.cli.outbox import open_store, said

    if (sent is None) == (not not_sent):
        raise typer.BadParameter(
            "give exactly one of --sent URL or --not-sent", param_hint="--sent/--not-sent"
        )
    with open_store(open_workspace(config)) as store:
        delivery = store.resolve(delivery_id, sent)
        said(delivery, "recorded as sent:" if sent is not None else "planned again now:")


@queue_app.command("pause")
@handle_errors
def pause(
    channel: Annotated[str, typer.Argument(help="The channel to pause.", show_default=False)],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Resume by itself at this ISO 8601 time (default: until `queue resume`).",
            show_default=False,
        ),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why (shown by `tagcast status`).")
    ] = "paused by the operator",
    config: ConfigOption = None,
) -> None:
    """Stop sending on a channel; its deliveries stay queued."""
    from scheduler.cli.outbox import channel_zone, iso, open_store, parse_when, require_channel

    workspace = open_workspace(config)
    zone = channel_zone(workspace, channel)
    when = parse_when(until, zone, option="--until") if until is not None else None
    with open_store(workspace) as store:
        require_channel(workspace, channel, also=store.counts())
        store.pause_channel(channel, until=when, reason=reason)
    stdout().print(
        f"paused {channel} " + (f"until {iso(when, zone)}" if when else "until `tagcast queue resume`")
    )


@queue_app.command("resume")
@handle_errors
def resume(
    channel: Annotated[str, typer.Argument(help="The channel to resume.", show_default=False)],
    config: ConfigOption = None,
) -> None:
    """Let a paused channel send again."""
    from scheduler.cli.outbox import open_store, require_channel

    workspace = open_workspace(config)
    with open_store(workspace) as store:
        require_channel(workspace, channel, also=[*store.counts(), *store.paused()])
        was_paused = store.resume_channel(channel)
    if was_paused:
        stdout().print(f"resumed {channel}")
    else:
        stderr().print(f"{channel} was not paused")


def register(app: typer.Typer) -> None:
    app.add_typer(queue_app)
