"""The Store: the outbox opened from ``store.url``; the only code that writes SQL (``docs/store-api.md``)."""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from scheduler.store.cluster_ops import ClusterMixin
from scheduler.store.dialect import create_store_engine, writer
from scheduler.store.dispatch_ops import DispatchMixin
from scheduler.store.errors import StoreError
from scheduler.store.feed_ops import FeedMixin
from scheduler.store.ingest_ops import IngestMixin
from scheduler.store.migrations import migrate
from scheduler.store.operator_ops import ListingMixin, OperatorMixin


class Store(IngestMixin, DispatchMixin, ListingMixin, OperatorMixin, ClusterMixin, FeedMixin):
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
        on WAL for SQLite, and bring the schema up to date. SchemaTooNew when a newer tagcast wrote it."""
        engine = create_store_engine(url, root)
        try:
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

    @classmethod
    def from_engine(cls, engine: Engine) -> Store:
        """A Store on an engine from :func:`scheduler.store.dialect.create_store_engine`; migrates it."""
        with writer(engine).begin() as connection:
            migrate(connection)
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

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
