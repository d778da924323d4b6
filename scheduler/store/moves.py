"""What an operator's action does to a delivery, decided once for every way of storing it.

:class:`~scheduler.store.operator_ops.OperatorMixin` (SQLAlchemy) and
:class:`~scheduler.store.direct.DirectStore` (the quick queue commands, sqlite3 alone) both read the row,
ask one of the functions here for the :class:`Move` (or the
:class:`~scheduler.store.errors.DeliveryConflict` that forbids it), and apply it as one compare-and-set
``UPDATE`` plus a transition, in one transaction. Plain Python: no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from scheduler.store.errors import DeliveryConflict
from scheduler.store.models import DeliveryState, utc

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

Row: TypeAlias = "RowMapping | Mapping[str, Any]"
"""A deliveries row as read, its times aware (UTC) and its JSON decoded."""

SHOW_HINT = "see its history with `tagcast queue show {id}`"
CANCELLABLE = (DeliveryState.PLANNED, DeliveryState.RETRYING, DeliveryState.FAILED, DeliveryState.UNKNOWN)
RESCHEDULABLE = (DeliveryState.PLANNED, DeliveryState.RETRYING, DeliveryState.FAILED, DeliveryState.CANCELLED)
RETRIABLE = (DeliveryState.FAILED, DeliveryState.UNKNOWN)


@dataclass(frozen=True)
class Move:
    """A delivery goes to ``to_state`` with ``values`` (columns), and the transition keeps ``reason``."""

    to_state: DeliveryState
    reason: str
    values: dict[str, Any]


def now_or(now: datetime | None) -> datetime:
    """``now`` in UTC, else the current time."""
    return utc(now) if now is not None else datetime.now(UTC)


def due_at_for(
    state: DeliveryState, scheduled_at: datetime, next_attempt_at: datetime | None
) -> datetime | None:
    """When a row in ``state`` becomes claimable: planned at its slot, retrying at its next attempt."""
    if state is DeliveryState.PLANNED:
        return scheduled_at
    if state is DeliveryState.RETRYING:
        return next_attempt_at or scheduled_at
    return None


def with_due_at(row: Row, to_state: DeliveryState, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` and the ``due_at`` the row has after the move (claims look at it)."""
    scheduled_at = values.get("scheduled_at", row["scheduled_at"])
    next_attempt_at = values.get("next_attempt_at", row["next_attempt_at"])
    return {**values, "due_at": due_at_for(to_state, scheduled_at, next_attempt_at)}


def changed_meanwhile(
    delivery_id: str, from_state: DeliveryState, to_state: DeliveryState
) -> DeliveryConflict:
    """The compare-and-set found the row in another state than it was read in."""
    return DeliveryConflict(
        f"delivery {delivery_id} changed while it was being moved from {from_state} to {to_state}",
        hint=f"look at it again with `tagcast queue show {delivery_id}`",
    )


def require_state(row: Row, allowed: tuple[DeliveryState, ...], action: str, hint: str) -> DeliveryState:
    """The row's state when it is one of ``allowed``; else DeliveryConflict saying which are."""
    state = DeliveryState(row["state"])
    if state not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise DeliveryConflict(
            f"cannot {action} delivery {row['id']}: it is {state.value} (only {names} can be)", hint=hint
        )
    return state


def cancel_move(row: Row, *, reason: str | None = None) -> Move:
    """planned, retrying, failed or unknown -> cancelled: it will not be sent."""
    require_state(row, CANCELLABLE, "cancel", SHOW_HINT.format(id=row["id"]))
    return Move(DeliveryState.CANCELLED, reason or "cancelled by the operator", {"next_attempt_at": None})


def reschedule_move(row: Row, at: datetime, *, reason: str | None = None) -> Move:
    """planned, retrying, failed or cancelled -> planned at ``at``; a failed or cancelled delivery starts
    counting attempts from 0 again."""
    at = utc(at)
    state = require_state(row, RESCHEDULABLE, "reschedule", SHOW_HINT.format(id=row["id"]))
    fresh = state in (DeliveryState.FAILED, DeliveryState.CANCELLED)
    return Move(
        DeliveryState.PLANNED,
        reason or f"rescheduled by the operator from {row['scheduled_at'].isoformat()} to {at.isoformat()}",
        {"scheduled_at": at, "next_attempt_at": None, "attempts": 0 if fresh else row["attempts"]},
    )


def retry_move(row: Row, now: datetime, *, reason: str | None = None) -> Move:
    """failed or unknown -> planned ``now``, attempts from 0, with the same idempotency key."""
    state = require_state(
        row,
        RETRIABLE,
        "retry",
        "only failed or unknown deliveries are retried; `tagcast queue reschedule` moves the others",
    )
    return Move(
        DeliveryState.PLANNED,
        reason or f"retry asked by the operator (was {state.value}: {row['last_error'] or 'no error'})",
        {"scheduled_at": now, "next_attempt_at": None, "attempts": 0},
    )
