"""Numbered schema migrations, applied in order when the store is opened.

:data:`MIGRATIONS` maps a version to the function that brings a database from the version before it to that
one. :mod:`scheduler.store.schema` always describes the newest version, so a fresh database is created from it
directly and stamped; an older database runs every migration after its version, in order, in one transaction.
A database whose version is newer than the code is refused: an older tagcast must not write to it.

To change the schema: edit ``schema.py``, then add ``MIGRATIONS[n + 1]`` doing the same change to an existing
database (``ALTER TABLE ...``), and test it with :func:`migrate`'s ``migrations`` argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, func, inspect, select, text

from scheduler.errors import UserError
from scheduler.identity import article_identity
from scheduler.store.dialect import lock_migrations
from scheduler.store.errors import SchemaTooNew, StoreError
from scheduler.store.models import article_from_json
from scheduler.store.schema import (
    IDENTITY_INDEX,
    SOURCE_INDEX,
    VERSION_2_TABLES,
    VERSION_3_TABLES,
    VERSION_4_TABLES,
    VERSION_5_TABLES,
    VERSION_6_TABLES,
    WORKERS_HOST_INDEX,
    WORKERS_NOT_STOPPED_INDEX,
    deliveries,
    metadata,
    schema_version,
    store_meta,
    workers,
)

Migration = Callable[[Connection], None]


def _initial(connection: Connection) -> None:
    """Version 1: deliveries, transitions, channel_pauses, schema_version."""
    later = {*VERSION_2_TABLES, *VERSION_3_TABLES, *VERSION_4_TABLES, *VERSION_5_TABLES, *VERSION_6_TABLES}
    metadata.create_all(connection, tables=[table for table in metadata.sorted_tables if table not in later])


def _workers(connection: Connection) -> None:
    """Version 2: ``workers`` (heartbeats of ``tagcast serve`` processes) and ``periodic_runs`` (work done
    once per period across all of them)."""
    metadata.create_all(connection, tables=list(VERSION_2_TABLES))


_BATCH = 1000


def _identity(connection: Connection) -> None:
    """Version 3: ``deliveries.identity`` (the article's identity, :mod:`scheduler.identity`), computed
    for every existing row from the article stored with it, so that an old outbox recognises its articles
    under a new file name; and ``store_meta`` with the outbox's ``epoch``, the time of its first delivery (an
    outbox that has deliveries is not new)."""
    columns = {column["name"] for column in inspect(connection).get_columns(deliveries.name)}
    if "identity" not in columns:
        connection.execute(
            text("ALTER TABLE deliveries ADD COLUMN identity VARCHAR(1100) NOT NULL DEFAULT ''")
        )
    update = (
        deliveries.update()
        .where(deliveries.c.id == bindparam("row_id"))
        .values(identity=bindparam("new_identity"))
    )
    taken: set[tuple[str, str, int]] = set()
    values = []
    rows = connection.execute(
        select(
            deliveries.c.id,
            deliveries.c.source,
            deliveries.c.channel,
            deliveries.c.generation,
            deliveries.c.article,
        ).order_by(deliveries.c.created_at, deliveries.c.id)
    )
    for row_id, source, channel, generation, article in rows:
        identity = article_identity(article_from_json(dict(article or {})))
        if (identity, channel, generation) in taken:  # two files of one article, both queued before
            identity = f"{identity} ({source})"  # the later one keeps its delivery, matched by its file
        taken.add((identity, channel, generation))
        values.append({"row_id": row_id, "new_identity": identity})
    for start in range(0, len(values), _BATCH):
        connection.execute(update, values[start : start + _BATCH])
    connection.execute(text(f"DROP INDEX {SOURCE_INDEX.name}"))
    SOURCE_INDEX.create(connection)
    IDENTITY_INDEX.create(connection, checkfirst=True)
    metadata.create_all(connection, tables=list(VERSION_3_TABLES))
    first = connection.execute(select(func.min(deliveries.c.created_at))).scalar()
    if first is not None and connection.execute(select(store_meta.c.key)).first() is None:
        connection.execute(store_meta.insert().values(key="epoch", value=first.isoformat()))


def _feeds(connection: Connection) -> None:
    """Version 4: ``feed_states`` (ETag, Last-Modified and last error of each ``[sources.NAME]``) and
    ``feed_entries`` (the entries each feed has shown, and whether they were queued)."""
    metadata.create_all(connection, tables=list(VERSION_4_TABLES))


def _tokens(connection: Connection) -> None:
    """Version 5: ``token_expiries`` (when each channel's token expires, whether tagcast can refresh it, and
    the expiry last alerted about)."""
    metadata.create_all(connection, tables=list(VERSION_5_TABLES))


def _link_pages(connection: Connection) -> None:
    """Version 6: ``link_pages`` (the meta tags of each page a link card was made from, and when they were
    fetched, so a page is fetched once per :data:`~scheduler.media.cards.PAGE_TTL`)."""
    metadata.create_all(connection, tables=list(VERSION_6_TABLES))


def _workers_by_host(connection: Connection) -> None:
    """Version 7: the index ``ix_workers_host_started``, so that a start finds the previous run of its host
    without reading every row of ``workers`` (a row per ``serve --once`` from cron, per host)."""
    WORKERS_HOST_INDEX.create(connection, checkfirst=True)


def _first_limit(connection: Connection) -> None:
    """Version 8: ``deliveries.first_limit``, the first part's own limit (Telegram: a photo's caption, 1024),
    so that the queue shows each part against its limit as preview does. It is filled in for the rows queued
    before it, sent ones too, as queueing them would have (:class:`_QueuedFirstLimits`), so that from this
    version on NULL means one thing: the first part has no limit of its own.

    Done here, once, rather than when a row is shown: a view then reads the row as it is, without loading
    the adapters (the quick queue commands stay quick), and a sent post keeps the limit it was sent under
    whatever adapter is installed later."""
    columns = {column["name"] for column in inspect(connection).get_columns(deliveries.name)}
    if "first_limit" not in columns:
        connection.execute(text("ALTER TABLE deliveries ADD COLUMN first_limit INTEGER"))
    _fill_first_limits(connection)


def _fill_first_limits(connection: Connection) -> None:
    """Fill in ``first_limit`` where it is NULL and queueing the row would have set it
    (:class:`_QueuedFirstLimits`); a row whose first part has no limit of its own stays NULL."""
    update = (
        deliveries.update()
        .where(deliveries.c.id == bindparam("row_id"))
        .values(first_limit=bindparam("new_first_limit"))
    )
    queued = _QueuedFirstLimits()
    values = []
    rows = connection.execute(
        select(deliveries.c.id, deliveries.c.network, deliveries.c.limit, deliveries.c.article).where(
            deliveries.c.first_limit.is_(None)
        )
    )
    for row_id, network, limit, article in rows:
        media = bool(article_from_json(dict(article or {})).images)
        first_limit = queued.first_limit(network, limit, media=media)
        if first_limit is not None:
            values.append({"row_id": row_id, "new_first_limit": first_limit})
    for start in range(0, len(values), _BATCH):
        connection.execute(update, values[start : start + _BATCH])


class _QueuedFirstLimits:
    """The first limit queueing gives a post, from what its row holds: the network's adapter's length
    rules (those of a post with images when its article has some, as the pipeline picks them) for a channel
    with the row's ``limit``. A channel's other settings are not in the row; no built-in network's first
    limit depends on them. Asked once per network, limit and images-or-not."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, bool], int | None] = {}

    def first_limit(self, network: str, limit: int, *, media: bool) -> int | None:
        """None when the first part has no limit of its own, or the network's adapter is not installed
        (its rows keep every part against ``limit``, as before)."""
        key = (network, limit, media)
        if key not in self._known:
            self._known[key] = self._rules_first_limit(network, limit, media=media)
        return self._known[key]

    @staticmethod
    def _rules_first_limit(network: str, limit: int, *, media: bool) -> int | None:
        # the queueing code's own functions; imported here only, as the upgrade is the one time the store
        # asks an adapter (and the pipeline is a stage above the store)
        from pydantic import ValidationError  # noqa: PLC0415

        from scheduler.adapters.registry import load_adapter  # noqa: PLC0415
        from scheduler.config.models import ChannelSettings  # noqa: PLC0415
        from scheduler.pipeline import rules_with_media  # noqa: PLC0415

        try:
            adapter = load_adapter(network)
            settings = ChannelSettings.model_validate({"network": network, "limit": limit})
        except (UserError, ValidationError, ImportError):
            return None
        rules = rules_with_media(adapter, settings) if media else adapter.length_rules(settings)
        return rules.first_limit


def _workers_not_stopped(connection: Connection) -> None:
    """Version 9: the index ``ix_workers_not_stopped`` (the starts of the workers without ``stopped_at``), so
    that ``status --check`` finds the last start of a worker not stopped in one look-up, not by reading back
    through every row of ``workers``; and no worker's last heartbeat before its start (a clock stepped back:
    its start instead), as a heartbeat is recorded from this version on."""
    WORKERS_NOT_STOPPED_INDEX.create(connection, checkfirst=True)
    connection.execute(
        workers.update()
        .where(workers.c.heartbeat_at < workers.c.started_at)
        .values(heartbeat_at=workers.c.started_at)
    )


def _version_9(connection: Connection) -> None:
    """Version 9: :func:`_workers_not_stopped`; and the first limits of an outbox that an earlier tagcast
    upgraded to version 8 without filling them in (its rows queued before version 8 kept NULL, so a Telegram
    post with an image showed its caption against 4096): :func:`_fill_first_limits`, as version 8 now does."""
    _workers_not_stopped(connection)
    _fill_first_limits(connection)


MIGRATIONS: dict[int, Migration] = {
    1: _initial,
    2: _workers,
    3: _identity,
    4: _feeds,
    5: _tokens,
    6: _link_pages,
    7: _workers_by_host,
    8: _first_limit,
    9: _version_9,
}


def latest_version(migrations: Mapping[int, Migration] = MIGRATIONS) -> int:
    return max(migrations)


def current_version(connection: Connection) -> int | None:
    """The version stamped in the database, or None for a database without tagcast tables."""
    if not inspect(connection).has_table(schema_version.name):
        return None
    row = connection.execute(select(schema_version.c.version).where(schema_version.c.id == 1)).first()
    return int(row[0]) if row is not None else None


def _stamp(connection: Connection, version: int) -> None:
    now = datetime.now(UTC)
    updated = connection.execute(
        schema_version.update().where(schema_version.c.id == 1).values(version=version, applied_at=now)
    )
    if updated.rowcount == 0:
        connection.execute(schema_version.insert().values(id=1, version=version, applied_at=now))


def migrate(connection: Connection, migrations: Mapping[int, Migration] = MIGRATIONS) -> int:
    """Bring the database to the newest version inside the caller's (write) transaction; return that version.

    Raises :class:`SchemaTooNew` when the database is newer than ``migrations`` knows.
    """
    lock_migrations(connection)
    latest = latest_version(migrations)
    found = current_version(connection)
    if found is None:
        if inspect(connection).has_table("deliveries"):
            raise StoreError(
                "the outbox database has a deliveries table but no schema_version: tagcast did not make it",
                hint="point store.url in config/tagcast.toml at a new file",
            )
        metadata.create_all(connection)
        _stamp(connection, latest)
        return latest
    if found > latest:
        raise SchemaTooNew(
            f"the outbox database has schema version {found}, but this tagcast knows only up to {latest}",
            hint="upgrade tagcast (pip install -U tagcast); a newer version wrote this database",
        )
    for version in range(found + 1, latest + 1):
        if version not in migrations:
            raise StoreError(f"no migration to schema version {version}: this tagcast is broken (a bug)")
        migrations[version](connection)
    if found != latest:
        _stamp(connection, latest)
    return latest
