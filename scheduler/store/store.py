"""The Store: the outbox opened from ``store.url``; the only code that writes SQL (``docs/store-api.md``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from scheduler.store.calendar_ops import CalendarMixin
from scheduler.store.cluster_ops import ClusterMixin
from scheduler.store.dialect import create_store_engine, writer
from scheduler.store.dispatch_ops import DispatchMixin, active_pauses
from scheduler.store.errors import StoreError
from scheduler.store.feed_ops import FeedMixin
from scheduler.store.ingest_ops import IngestMixin
from scheduler.store.migrations import latest_version, migrate
from scheduler.store.misfire_ops import MisfireMixin
from scheduler.store.models import DeliveryState, utc
from scheduler.store.operator_ops import ListingMixin, OperatorMixin
from scheduler.store.page_ops import PageMixin
from scheduler.store.schema import deliveries, schema_version, transitions
from scheduler.store.token_ops import TokenMixin

PROGRESS_STATES = (
    DeliveryState.SENDING,
    DeliveryState.SENT,
    DeliveryState.RETRYING,
    DeliveryState.FAILED,
    DeliveryState.UNKNOWN,
)
"""A transition into one of these is the dispatcher at work: a claim, or the outcome of a send."""


VERSION_QUERY = select(schema_version.c.version).where(schema_version.c.id == 1)
"""The schema version of the outbox (one row)."""


def _up_to_date(engine: Engine) -> bool:
    """Whether the schema is the newest already, read without a write lock: opening the outbox for ``tagcast
    queue list`` must not wait for the service's write transactions (SQLite has one writer at a time). Any
    doubt (a new file, no table, a newer or older version, an error) is left to :func:`migrate`, which runs
    in a write transaction and says what is wrong."""
    try:
        with engine.connect() as connection:
            found = connection.execute(VERSION_QUERY).scalar()
    except SQLAlchemyError:
        return False
    return found == latest_version()


@dataclass(frozen=True)
class Progress:
    """Whether the dispatcher keeps up (see :meth:`Store.progress`)."""

    oldest_due: datetime | None
    """The earliest due time of a planned or retrying delivery of a channel not paused (None: nothing due)."""
    last_progress: datetime | None
    """When a delivery was last claimed or settled (None: never)."""


class Store(
    IngestMixin,
    DispatchMixin,
    ListingMixin,
    OperatorMixin,
    MisfireMixin,
    ClusterMixin,
    CalendarMixin,
    FeedMixin,
    TokenMixin,
    PageMixin,
):
    """The durable outbox of deliveries, their transitions and channel pauses::

        with Store.open(settings.store.url, root=workspace.root) as store:
            store.upsert(post, now=now)
            [delivery] = store.claim_due(now, worker="w1", lease=timedelta(minutes=5), limit=1)

    Every method runs its own transaction; it is safe to share one Store between threads, and any number of
    processes may open the same database.
    """

    @classmethod
    def open(cls, url: str, *, root: Path) -> Store:
        """Connect to ``url`` (a relative SQLite path is relative to ``root``; its folder is created), switch
        on WAL for SQLite, and bring the schema up to date (a write transaction only when it is not up to date
        already). SchemaTooNew when a newer tagcast wrote it."""
        engine = create_store_engine(url, root)
        try:
            if not _up_to_date(engine):
                with writer(engine).begin() as connection:
                    migrate(connection)
        except OperationalError as exc:
            engine.dispose()
            shown = engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"cannot open the outbox database {shown}: {exc.orig}",
                hint="check store.url in config/tagcast.toml, the file's permissions and free disk space",
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query (for health checks). A SQLite file
        must also still be there, readable and writable: an open connection keeps answering after its file
        was deleted, or its folder removed."""
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database or ""
            if database not in ("", ":memory:") and not database.startswith("file:"):
                path = Path(database)
                if not path.is_file() or not os.access(path, os.R_OK | os.W_OK):
                    raise StoreError(f"the outbox file {path} is missing, or not readable and writable")
        try:
            with self._read() as connection:
                connection.execute(select(1)).scalar()
        except SQLAlchemyError as exc:
            shown = self.engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"the outbox {shown} does not answer: {getattr(exc, 'orig', None) or exc}"
            ) from exc

    def progress(self, now: datetime) -> Progress:
        """How long due work has waited at ``now``, and when the dispatcher last claimed or settled a
        delivery: what ``/healthz`` and ``status --check`` call a stall. A few index look-ups."""
        now = utc(now)
        with self._read() as connection:
            paused = set(active_pauses(connection, now))
            oldest = connection.execute(
                select(func.min(deliveries.c.due_at)).where(
                    deliveries.c.due_at <= now, deliveries.c.channel.not_in(paused)
                )
            ).scalar()
            moments = [
                connection.execute(
                    select(transitions.c.at)
                    .where(transitions.c.to_state == state.value)
                    .order_by(transitions.c.at.desc())
                    .limit(1)
                ).scalar()
                for state in PROGRESS_STATES
            ]
        return Progress(oldest, max((m for m in moments if m is not None), default=None))

    def channel_progress(self, now: datetime, *, due_by: datetime) -> dict[str, Progress]:
        """:meth:`progress` per channel, for the channels (not paused at ``now``) with a delivery due at
        ``due_by`` or earlier: a channel whose dispatcher task died, or whose adapter hangs, stalls while the
        others go on. One grouped query, then a few index look-ups per such channel (usually none)."""
        now, due_by = utc(now), utc(due_by)
        with self._read() as connection:
            paused = set(active_pauses(connection, now))
            waiting = connection.execute(
                select(deliveries.c.channel, func.min(deliveries.c.due_at))
                .where(deliveries.c.due_at <= due_by, deliveries.c.channel.not_in(paused))
                .group_by(deliveries.c.channel)
            ).all()
            found: dict[str, Progress] = {}
            for channel, oldest in waiting:
                moments = [
                    connection.execute(
                        select(transitions.c.at)
                        .join(deliveries, deliveries.c.id == transitions.c.delivery_id)
                        .where(transitions.c.to_state == state.value, deliveries.c.channel == channel)
                        .order_by(transitions.c.at.desc())
                        .limit(1)
                    ).scalar()
                    for state in PROGRESS_STATES
                ]
                found[channel] = Progress(oldest, max((m for m in moments if m is not None), default=None))
        return found

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
