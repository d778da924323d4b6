"""How a person sees the outbox in a terminal: a table of deliveries, one delivery, an ingest report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from scheduler import safe_text
from scheduler.cli.console import print_table, stderr, stdout
from scheduler.cli.outbox import iso, plural, when_text
from scheduler.store import Delivery, DeliveryState, Transition, UpsertOutcome

if TYPE_CHECKING:
    from scheduler.ingest import IngestReport  # the whole pipeline: not for `queue list`

STATE_STYLES = {
    DeliveryState.PLANNED: "cyan",
    DeliveryState.SENDING: "yellow",
    DeliveryState.SENT: "green",
    DeliveryState.RETRYING: "yellow",
    DeliveryState.FAILED: "bold red",
    DeliveryState.CANCELLED: "dim",
    DeliveryState.UNKNOWN: "bold magenta",
}
OUTCOME_STYLES = {
    UpsertOutcome.ADDED: "green",
    UpsertOutcome.UPDATED: "cyan",
    UpsertOutcome.UNCHANGED: "dim",
    UpsertOutcome.ALREADY_SENT: "yellow",
    UpsertOutcome.REPOSTED: "green",
    UpsertOutcome.SKIPPED: "red",
    UpsertOutcome.IN_FLIGHT: "yellow",
    UpsertOutcome.RENAMED: "cyan",
    UpsertOutcome.DUPLICATE: "yellow",
    UpsertOutcome.HELD_BACK: "yellow",
}

_WARNED = (UpsertOutcome.DUPLICATE, UpsertOutcome.IN_FLIGHT, UpsertOutcome.ALREADY_SENT)


def first_line(delivery: Delivery, width: int = 48) -> str:
    text = (delivery.parts[0] if delivery.parts else "").replace("\n", " ")
    more = f" (+{plural(len(delivery.parts) - 1, 'part')})" if len(delivery.parts) > 1 else ""
    return (text[: width - 1] + "…" if len(text) > width else text) + more


def show_deliveries(deliveries: Sequence[Delivery], *, offset: int, limit: int) -> None:
    console = stdout()
    table = Table(show_edge=False, header_style="bold")
    table.add_column("id", no_wrap=True, min_width=12)
    table.add_column("state", no_wrap=True, min_width=9)
    table.add_column("channel", no_wrap=True)
    table.add_column("when", no_wrap=True, min_width=16)
    table.add_column("tries", justify="right", min_width=5)
    table.add_column("source", overflow="fold", min_width=10, ratio=1)
    wide = console.width >= 120
    if wide:
        table.add_column("text", overflow="fold", ratio=2)
    for d in deliveries:
        cells: list[str | Text] = [
            d.id,
            Text(d.state.value, style=STATE_STYLES[d.state]),
            d.channel,
            when_text(d),
            str(d.attempts),
            safe_text.markup(d.source),
        ]
        table.add_row(*cells, *([safe_text.markup(first_line(d))] if wide else []))
    if deliveries:
        print_table(table)
    more = f"; next page: --offset {offset + limit}" if len(deliveries) == limit else ""
    shown = plural(len(deliveries), "delivery", "deliveries")
    console.print(f"{shown} (from {offset + 1 if deliveries else offset}){more}")


def show_delivery(delivery: Delivery, history: Sequence[Transition]) -> None:
    zone = delivery.local_scheduled_at.tzinfo
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("state", Text(delivery.state.value, style=STATE_STYLES[delivery.state])),
        ("channel", f"{delivery.channel} ({delivery.network})"),
        ("source", delivery.source),
        ("title", delivery.title),
        ("when", when_text(delivery)),
        ("rule / template", f"{delivery.rule} / {delivery.template}"),
        ("attempts", str(delivery.attempts)),
        ("next attempt", iso(delivery.next_attempt_at, zone) or "-"),
        ("idempotency key", delivery.idempotency_key),
        (
            "claimed by",
            f"{delivery.claimed_by} until {iso(delivery.lease_until, zone)}" if delivery.claimed_by else "-",
        ),
        ("last error", delivery.last_error or "-"),
        ("remote ids", ", ".join(delivery.remote_ids) or "-"),
        ("remote url", delivery.remote_url or "-"),
    ]
    for label, value in rows:
        facts.add_row(label, value if isinstance(value, Text) else safe_text.markup(value))
    body: list[Table | Text | Rule] = [facts]
    for index, (part, length, limit) in enumerate(
        zip(delivery.parts, delivery.lengths or [0] * len(delivery.parts), delivery.limits, strict=False)
    ):
        body.append(Rule(f"part {index + 1}: {length}/{limit} {delivery.unit}", style="dim"))
        body.append(Text(part))
    history_table = Table(show_edge=False, header_style="bold", title="history", title_justify="left")
    for column in ("at", "from", "to", "reason"):
        history_table.add_column(column, no_wrap=column != "reason")
    for t in history:
        history_table.add_row(
            iso(t.at, zone) or "",
            t.from_state.value if t.from_state else "-",
            t.to_state.value,
            safe_text.markup(t.reason),
        )
    console = stdout()
    console.print(Panel(Group(*body), title=Text(delivery.id, style="bold"), title_align="left"))
    print_table(history_table)


def show_ingest(report: IngestReport) -> None:
    shown = [item for item in report.items if item.post.active]
    disabled = sorted({item.channel for item in report.items if not item.post.active})
    table = Table(show_edge=False, header_style="bold")
    table.add_column("outcome", no_wrap=True, min_width=12)
    table.add_column("source", overflow="fold", min_width=10)
    table.add_column("channel", no_wrap=True)
    table.add_column("id", no_wrap=True, min_width=12)
    table.add_column("when", no_wrap=True)
    for item in shown:
        delivery = item.delivery
        table.add_row(
            Text(item.outcome.value, style=OUTCOME_STYLES[item.outcome]),
            safe_text.markup(item.source),
            item.channel,
            delivery.id if delivery else "-",
            when_text(delivery) if delivery else "-",
        )
    console = stdout()
    if shown:
        print_table(table)
    for item in shown:
        if item.detail:
            style = "red" if item.post.problems else "yellow" if item.outcome in _WARNED else "dim"
            console.print(
                Text(safe_text.shown(f"{item.source} -> {item.channel}: {item.detail}"), style=style),
                soft_wrap=True,
            )
    if disabled:
        console.print(
            Text(
                f"not queued for disabled channels ({', '.join(disabled)}): set enabled = true to queue",
                style="dim",
            ),
            soft_wrap=True,
        )
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts().items())) or "no posts"
    unreadable = len(report.errors)
    console.print(f"{counts}; {unreadable} unreadable article{'' if unreadable == 1 else 's'}")
    note = report.held_back_note()
    if note:
        stderr().print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    for error in report.errors:
        stderr().print(f"[bold red]article error:[/] {escape(str(error))}")
    for orphan in report.orphans:
        stderr().print(f"[yellow]note:[/] {escape(orphan.reason)}")
