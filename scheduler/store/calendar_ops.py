"""The deliveries of a time range, for the dashboard's week calendar: one index range scan on
``ix_deliveries_scheduled`` (``scheduled_at, id``), so a week answers at once with a million rows queued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from scheduler.store.base import StoreBase
from scheduler.store.models import DeliveryState, utc, zone_named
from scheduler.store.schema import deliveries


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """What the calendar shows of a delivery: when, where, its state and the start of its text."""

    id: str
    channel: str
    network: str
    state: DeliveryState
    scheduled_at: datetime
    zone: str
    first_part: str

    @property
    def local_scheduled_at(self) -> datetime:
        return self.scheduled_at.astimezone(zone_named(self.zone))


def range_query(start: datetime, end: datetime, *, limit: int, offset: int = 0) -> Select[tuple[Any, ...]]:
    """The query behind :meth:`CalendarMixin.between` (tests check its plan uses the index)."""
    return (
        select(
            deliveries.c.id,
            deliveries.c.channel,
            deliveries.c.network,
            deliveries.c.state,
            deliveries.c.scheduled_at,
            deliveries.c.zone,
            deliveries.c.parts,
        )
        .where(deliveries.c.scheduled_at >= utc(start), deliveries.c.scheduled_at < utc(end))
        .order_by(deliveries.c.scheduled_at, deliveries.c.id)
        .limit(limit)
        .offset(offset)
    )


def count_query(start: datetime, end: datetime) -> Select[int]:
    return select(func.count()).where(
        deliveries.c.scheduled_at >= utc(start), deliveries.c.scheduled_at < utc(end)
    )


class CalendarMixin(StoreBase):
    """Deliveries by time range, whatever their state."""

    def between(
        self, start: datetime, end: datetime, *, limit: int = 500, offset: int = 0
    ) -> tuple[list[CalendarEntry], int]:
        """At most ``limit`` deliveries slotted in ``[start, end)``, by slot then id, and their number."""
        with self._read() as connection:
            rows = connection.execute(range_query(start, end, limit=limit, offset=offset)).mappings().all()
            total = int(connection.execute(count_query(start, end)).scalar_one())
        entries = [
            CalendarEntry(
                id=row["id"],
                channel=row["channel"],
                network=row["network"],
                state=DeliveryState(row["state"]),
                scheduled_at=row["scheduled_at"],
                zone=row["zone"],
                first_part=str(row["parts"][0]) if row["parts"] else "",
            )
            for row in rows
        ]
        return entries, total
