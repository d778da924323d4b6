"""The outbox tables (SQLAlchemy Core), as of the newest schema version in :mod:`scheduler.store.migrations`.

Times are :class:`UTCDateTime`: aware UTC datetimes in Python; ``timestamp with time zone`` on PostgreSQL
and a fixed-width ``YYYY-MM-DD HH:MM:SS.ffffff`` UTC text on SQLite, so ``<``, ``ORDER BY`` and ``MIN``
in SQL are correct on both. A change here needs a new numbered migration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator, TypeEngine

from scheduler.store.models import LONG_PAST

log = logging.getLogger("tagcast.store")


def _unreadable(value: object) -> datetime:
    log.warning("a stored time %r cannot be read: it is taken as long past (%s)", value, LONG_PAST)
    return LONG_PAST


class _LenientSQLiteDateTime(sqlite.DATETIME):
    """SQLite's text datetime, where a value that cannot be parsed reads as :data:`LONG_PAST` (logged)."""

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        parse = super().result_processor(dialect, coltype)
        if parse is None:
            return None

        def lenient(value: Any) -> Any:
            try:
                return parse(value)
            except (ValueError, TypeError, OverflowError):
                log.warning(
                    "a stored time %r cannot be read: it is taken as long past (%s)", value, LONG_PAST
                )
                return LONG_PAST

        return lenient


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC; a naive one is refused (it would be a guess). A stored value that
    cannot be read is :data:`LONG_PAST`, never an exception."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_LenientSQLiteDateTime())  # type: ignore[no-untyped-call]
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store: pass an aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite aggregates can come back untyped
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                log.warning(
                    "a stored time %r cannot be read: it is taken as long past (%s)", value, LONG_PAST
                )
                return LONG_PAST
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("source", String(1024), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("generation", Integer, nullable=False, default=1),
    Column("network", String(100), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("template", String(300), nullable=False),
    Column("parts", JSON, nullable=False),
    Column("lengths", JSON, nullable=False),
    Column("limit", Integer, nullable=False),
    Column("unit", String(50), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("article", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=False),
    Column("zone", String(100), nullable=False),
    # scheduled_at for planned rows, next_attempt_at for retrying rows, NULL otherwise: what claims look at
    Column("due_at", UTCDateTime, nullable=True),
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("journal", JSON, nullable=False),
    Column("remote_ids", JSON, nullable=False),
    Column("remote_url", Text, nullable=True),
    Column("receipt", JSON, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # schema version 3: the article's identity (scheduler.identity), whatever its file is called
    Column("identity", String(1100), nullable=False, server_default=""),
    # schema version 8: the first part's own limit when it is not ``limit`` (Telegram: a photo's caption)
    Column("first_limit", Integer, nullable=True),
)
Index("ix_deliveries_state_scheduled", deliveries.c.state, deliveries.c.scheduled_at, deliveries.c.id)
Index(
    "ix_deliveries_channel_state_scheduled",
    deliveries.c.channel,
    deliveries.c.state,
    deliveries.c.scheduled_at,
    deliveries.c.id,
)
Index("ix_deliveries_scheduled", deliveries.c.scheduled_at, deliveries.c.id)
Index("ix_deliveries_due", deliveries.c.due_at, deliveries.c.channel)
# unique up to schema version 2; since version 3 a file may hold another article than its deliveries name
SOURCE_INDEX = Index(
    "ix_deliveries_source_channel", deliveries.c.source, deliveries.c.channel, deliveries.c.generation
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(16), ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("reason", Text, nullable=False),
)
Index("ix_transitions_delivery", transitions.c.delivery_id, transitions.c.id)
Index("ix_transitions_to_state_at", transitions.c.to_state, transitions.c.at)

channel_pauses = Table(
    "channel_pauses",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("until", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

# --- schema version 2: the workers of a cluster and its periodic work ------------------------------------

workers = Table(
    "workers",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
)
Index("ix_workers_heartbeat", workers.c.heartbeat_at)
# schema version 7: the newest runs of one host (the start's "previous run on this host") without a scan
WORKERS_HOST_INDEX = Index("ix_workers_host_started", workers.c.host, workers.c.started_at, workers.c.id)
# schema version 9: the last start of a worker not stopped (status --check's stall) without a scan; it holds
# only the rows without stopped_at (the running workers, and the runs killed before they could stop)
WORKERS_NOT_STOPPED_INDEX = Index(
    "ix_workers_not_stopped",
    workers.c.started_at,
    sqlite_where=workers.c.stopped_at.is_(None),
    postgresql_where=workers.c.stopped_at.is_(None),
)

periodic_runs = Table(
    "periodic_runs",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("last_run_at", UTCDateTime, nullable=True),
    Column("run_by", String(200), nullable=True),
    # while a run is in progress (SQLite: the claim; PostgreSQL relies on an advisory lock)
    Column("running_until", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
)

VERSION_2_TABLES = (workers, periodic_runs)

# --- schema version 3: deliveries.identity, and facts about the outbox itself ------------------------------

IDENTITY_INDEX = Index(
    "ix_deliveries_identity_channel",
    deliveries.c.identity,
    deliveries.c.channel,
    deliveries.c.generation,
    unique=True,
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
"""``epoch``: when the outbox first took in articles (ISO 8601, UTC); see :mod:`scheduler.ingest`."""

VERSION_3_TABLES = (store_meta,)

# --- schema version 4: the state of each polled feed ([sources.NAME]) ---------------------------------------

feed_states = Table(
    "feed_states",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("etag", Text, nullable=True),
    Column("last_modified", Text, nullable=True),
    Column("polled_at", UTCDateTime, nullable=True),
    Column("ok_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
)

feed_entries = Table(
    "feed_entries",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("entry_id", String(1024), primary_key=True),
    # true: queued (its edits update the queued posts); false: seen at the first poll and left out (backfill)
    Column("queued", Integer, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
)

VERSION_4_TABLES = (feed_states, feed_entries)

token_expiries = Table(
    "token_expiries",
    metadata,
    Column("channel", String(200), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("refreshable", Integer, nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    Column("alerted_for", UTCDateTime, nullable=True),
)

VERSION_5_TABLES = (token_expiries,)

# --- schema version 6: what linked pages say about themselves (link cards, scheduler.media.cards) ----------

link_pages = Table(
    "link_pages",
    metadata,
    Column("url", Text, primary_key=True),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("title", Text, nullable=True),
    Column("description", Text, nullable=True),
    Column("image", Text, nullable=True),
    # why the page could not be read (then title, description and image are NULL)
    Column("error", Text, nullable=True),
)

VERSION_6_TABLES = (link_pages,)
