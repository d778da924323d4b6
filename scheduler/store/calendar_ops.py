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


def _in_range(query: Select[Any], start: datetime, end: datetime, channel: str | None) -> Select[Any]:
    """``[start, end)``, and one channel: ``state IN (every state)`` lets SQLite seek
    ``ix_deliveries_channel_state_scheduled`` once per state instead of reading all of the channel's rows."""
    query = query.where(deliveries.c.scheduled_at >= utc(start), deliveries.c.scheduled_at < utc(end))
    if channel is None:
        return query
    return query.where(
        deliveries.c.channel == channel, deliveries.c.state.in_([state.value for state in DeliveryState])
    )


def range_query(
    start: datetime, end: datetime, *, limit: int, offset: int = 0, channel: str | None = None
) -> Select[tuple[Any, ...]]:
    """The query behind :meth:`CalendarMixin.between` (tests check its plan uses an index)."""
    query = select(
        deliveries.c.id,
        deliveries.c.channel,
        deliveries.c.network,
        deliveries.c.state,
        deliveries.c.scheduled_at,
        deliveries.c.zone,
        deliveries.c.parts,
    )
    return (
        _in_range(query, start, end, channel)
        .order_by(deliveries.c.scheduled_at, deliveries.c.id)
        .limit(limit)
        .offset(offset)
    )


def count_query(start: datetime, end: datetime, channel: str | None = None) -> Select[int]:
    return _in_range(select(func.count()), start, end, channel)


class CalendarMixin(StoreBase):
    """Deliveries by time range, whatever their state."""

    def between(
        self,
        start: datetime,
        end: datetime,
        *,
        channel: str | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> tuple[list[CalendarEntry], int]:
        """At most ``limit`` deliveries slotted in ``[start, end)`` (of ``channel`` only, if given), by slot
        then id, and their number."""
        query = range_query(start, end, limit=limit, offset=offset, channel=channel)
        with self._read() as connection:
            rows = connection.execute(query).mappings().all()
            total = int(connection.execute(count_query(start, end, channel)).scalar_one())
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
