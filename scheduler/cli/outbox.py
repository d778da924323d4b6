"""What the ``queue`` and ``status`` commands share: opening the outbox, reading times, deliveries as JSON.

Imported only inside command functions. Light by itself (typer, the config and SQLAlchemy are imported by the
functions that need them), so that the quick queue commands (:mod:`scheduler.cli.quick`) share its JSON and
times.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from scheduler.config.loader import Workspace
    from scheduler.store import Delivery, Store, Transition


class QueueStore(Protocol):
    """What a queue command needs of the outbox: the Store, or the quick commands'
    :class:`~scheduler.store.direct.DirectStore`."""

    def get(self, delivery_id: str) -> Delivery: ...

    def reschedule(
        self, delivery_id: str, at: datetime, *, now: datetime | None = None, reason: str | None = None
    ) -> Delivery: ...


@contextmanager
def open_store(workspace: Workspace) -> Iterator[Store]:
    """The workspace's outbox (``[store] url``), closed afterwards."""
    from scheduler.store import Store  # SQLAlchemy, only for the commands that open the outbox

    store = Store.open(workspace.settings.store.url, root=workspace.root)
    try:
        yield store
    finally:
        store.close()


def channel_zone(workspace: Workspace, channel: str) -> tzinfo:
    """The zone of the channel's schedule (else the default schedule's), for showing and reading times."""
    settings = workspace.settings
    configured = settings.channels.get(channel)
    name = (configured.schedule if configured else None) or settings.defaults.schedule
    schedule = settings.schedules.get(name)
    try:
        return ZoneInfo(schedule.timezone if schedule else settings.defaults.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def require_channel(workspace: Workspace, channel: str, *, also: Iterable[str] = ()) -> None:
    """Exit 2 (a usage error) naming the configured channels, and the nearest one, when ``channel`` is
    neither configured nor one of ``also`` (channels the outbox still knows, e.g. removed from the config)."""
    known = set(workspace.settings.channels) | set(also)
    if channel in known:
        return
    from scheduler.cli.common import EXIT_USAGE, fail

    close = difflib.get_close_matches(channel, sorted(known), n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(sorted(workspace.settings.channels)) or "none"
    raise fail(
        f"no channel named {channel!r} in {workspace.display_config}{guess} (channels: {listed})",
        code=EXIT_USAGE,
    )


def parse_when(text: str, zone: tzinfo, *, option: str) -> datetime:
    """An ISO 8601 time; without an offset it is read in ``zone``. A malformed one is a usage error."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        import typer

        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-06-01T09:30 or 2026-06-01T09:30+02:00",
            param_hint=option,
        ) from None
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def iso(value: datetime | None, zone: tzinfo | None = None) -> str | None:
    if value is None:
        return None
    return value.astimezone(zone).isoformat() if zone is not None else value.isoformat()


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A delivery as ``queue list --json`` prints it: the post fields of ``preview --json`` and more."""
    return {
        "id": delivery.id,
        "state": delivery.state.value,
        "source": delivery.source,
        "title": delivery.title,
        "channel": delivery.channel,
        "network": delivery.network,
        "rule": delivery.rule,
        "template": delivery.template,
        "parts": list(delivery.parts),
        "lengths": list(delivery.lengths),
        "limit": delivery.limit,
        "limits": list(delivery.limits),
        "unit": delivery.unit,
        "scheduled_at": delivery.local_scheduled_at.isoformat(),
        "zone": delivery.zone,
        "problems": [],
        "attempts": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at, delivery.local_scheduled_at.tzinfo),
        "last_error": delivery.last_error,
        "remote_ids": list(delivery.remote_ids),
        "remote_url": delivery.remote_url,
    }


def delivery_detail_json(delivery: Delivery, history: list[Transition]) -> dict[str, Any]:
    """Everything ``queue show --json`` prints: all fields, the receipt and the transition history."""
    zone = delivery.local_scheduled_at.tzinfo
    data = delivery_json(delivery)
    data.update(
        {
            "generation": delivery.generation,
            "identity": delivery.identity,
            "content_hash": delivery.content_hash,
            "idempotency_key": delivery.idempotency_key,
            "article": delivery.article,
            "journal": delivery.journal,
            "receipt": {
                "remote_ids": list(delivery.remote_ids),
                "url": delivery.remote_url,
                "extra": delivery.receipt,
            },
            "claimed_by": delivery.claimed_by,
            "lease_until": iso(delivery.lease_until, zone),
            "created_at": iso(delivery.created_at, zone),
            "updated_at": iso(delivery.updated_at, zone),
            "history": [
                {
                    "at": iso(t.at, zone),
                    "from": t.from_state.value if t.from_state else None,
                    "to": t.to_state.value,
                    "reason": t.reason,
                }
                for t in history
            ],
        }
    )
    return data


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 delivery``, ``2 deliveries``: the count and the word in the right number."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


def when_text(delivery: Delivery) -> str:
    """The slot as a person reads it: local time with the zone's abbreviation."""
    return delivery.local_scheduled_at.strftime("%Y-%m-%d %H:%M %Z")


def show_page(page: list[Delivery], *, as_json: bool, offset: int, limit: int) -> None:
    """What ``queue list`` prints: one JSON array, or a table and how to get the next page."""
    if as_json:
        from scheduler.cli.console import print_json

        print_json([delivery_json(d) for d in page])
    else:
        from scheduler.cli.show_queue import show_deliveries

        show_deliveries(page, offset=offset, limit=limit)


def show_one(delivery: Delivery, history: list[Transition], *, as_json: bool) -> None:
    """What ``queue show`` prints: one JSON object, or the delivery and its history."""
    if as_json:
        from scheduler.cli.console import print_json

        print_json(delivery_detail_json(delivery, history))
    else:
        from scheduler.cli.show_queue import show_delivery

        show_delivery(delivery, history)


def said(delivery: Delivery, what: str) -> None:
    """``cancelled d_... (posts/a.md -> mastodon)``: what an action did, on stdout."""
    from scheduler.cli.console import stdout
    from scheduler.safe_text import markup

    stdout().print(f"{what} {delivery.id} ({markup(delivery.source)} -> {delivery.channel})")


def said_when(moved: Delivery, moment: datetime) -> None:
    """What ``queue reschedule`` and ``send-now`` did: planned for now (and who sends it), or the new slot."""
    from scheduler.cli.console import stderr

    if moved.scheduled_at <= moment:
        said(moved, "planned for now:")
        stderr().print("a running `tagcast serve` sends it at once; else run `tagcast serve --once`")
    else:
        said(moved, f"rescheduled to {when_text(moved)}:")


def reschedule_to(store: QueueStore, delivery_id: str, at: str, moment: datetime) -> None:
    """``queue reschedule ID --at AT`` at ``moment``: ``at`` without an offset is read in the zone of the
    delivery's schedule; a time already past means now."""
    current = store.get(delivery_id)
    zone = current.local_scheduled_at.tzinfo
    assert zone is not None
    when = parse_when(at, zone, option="--at")
    reason = None
    if when < moment:  # never "missed during downtime": the operator asked for it to go out
        reason = (
            f"rescheduled by the operator from {current.scheduled_at.isoformat()} to now "
            f"({when.astimezone(UTC).isoformat()} is past)"
        )
    moved = store.reschedule(delivery_id, max(when, moment), now=moment, reason=reason)
    said_when(moved, moment)
