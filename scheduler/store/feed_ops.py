"""The state of each polled feed: its validators for conditional requests, its last error, and the entries
it has shown (so that a new entry is queued once, an edited one updates its queued posts, and the entries
left out by ``backfill`` at the first poll stay out)::

    state = store.feed_state("history")            # None before the first poll
    store.record_feed_poll("history", now=now, etag='"abc"', last_modified=None, error=None)
    store.record_feed_entries("history", {"urn:1": True, "urn:2": False}, now=now)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from scheduler.store.base import StoreBase
from scheduler.store.models import utc
from scheduler.store.schema import feed_entries, feed_states


@dataclass(frozen=True)
class FeedState:
    """What the last poll of one source left: ``ok_at`` None until a poll succeeded."""

    source: str
    etag: str | None
    last_modified: str | None
    polled_at: datetime | None
    ok_at: datetime | None
    error: str | None


class FeedMixin(StoreBase):
    def feed_state(self, source: str) -> FeedState | None:
        with self._read() as connection:
            row = (
                connection.execute(select(feed_states).where(feed_states.c.source == source))
                .mappings()
                .first()
            )
        return None if row is None else FeedState(**dict(row))

    def feed_states(self) -> list[FeedState]:
        with self._read() as connection:
            rows = connection.execute(select(feed_states).order_by(feed_states.c.source)).mappings().all()
        return [FeedState(**dict(row)) for row in rows]

    def feed_entries(self, source: str) -> dict[str, bool]:
        """Entry id -> whether it was queued, for every entry ``source`` has shown."""
        with self._read() as connection:
            rows = connection.execute(
                select(feed_entries.c.entry_id, feed_entries.c.queued).where(feed_entries.c.source == source)
            ).all()
        return {entry_id: bool(queued) for entry_id, queued in rows}

    def record_feed_poll(
        self,
        source: str,
        *,
        now: datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
    ) -> None:
        """One poll's outcome: a success keeps its validators (``error`` None), a failure keeps the previous
        validators and records ``error``."""
        now = utc(now)
        with self._write() as connection:
            found = connection.execute(
                select(feed_states.c.source).where(feed_states.c.source == source)
            ).first()
            values: dict[str, object] = {"polled_at": now, "error": error}
            if error is None:
                values |= {"etag": etag, "last_modified": last_modified, "ok_at": now}
            if found is None:
                connection.execute(feed_states.insert().values(source=source, **values))
            else:
                connection.execute(
                    feed_states.update().where(feed_states.c.source == source).values(**values)
                )

    def record_feed_entries(self, source: str, entries: Mapping[str, bool], *, now: datetime) -> None:
        """Remember entries shown by ``source`` (id -> queued); an entry already known keeps its row, except
        that it becomes queued when ``entries`` says so."""
        if not entries:
            return
        now = utc(now)
        with self._write() as connection:
            known = dict(
                connection.execute(
                    select(feed_entries.c.entry_id, feed_entries.c.queued).where(
                        feed_entries.c.source == source
                    )
                ).all()
            )
            for entry_id, queued in entries.items():
                if entry_id not in known:
                    connection.execute(
                        feed_entries.insert().values(
                            source=source, entry_id=entry_id, queued=int(queued), first_seen=now
                        )
                    )
                elif queued and not known[entry_id]:
                    connection.execute(
                        feed_entries.update()
                        .where((feed_entries.c.source == source) & (feed_entries.c.entry_id == entry_id))
                        .values(queued=1)
                    )
