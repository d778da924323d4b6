"""Copy an outbox into another database (``tagcast store copy``): a SQLite file to PostgreSQL, or back.

Copied, keeping every id: ``deliveries`` (with their idempotency keys, so a copied delivery is still the
same delivery to the networks), ``transitions`` (the history) and ``channel_pauses``. Both sides are opened
with :meth:`Store.open`, so both carry the same schema version. Not copied: ``workers`` and
``periodic_runs``, which describe running processes, not the queue.

The source is read in one snapshot (``REPEATABLE READ`` on PostgreSQL) and the target written in one
transaction: a failed copy leaves the target as it was. The counts are compared at the end::

    with Store.open(old_url, root=root) as source, Store.open(new_url, root=root) as target:
        report = copy_outbox(source, target, batch=1000)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, select

from scheduler.store.dialect import reset_sequences, snapshot, writer
from scheduler.store.errors import StoreError
from scheduler.store.migrations import current_version
from scheduler.store.schema import channel_pauses, deliveries, transitions
from scheduler.store.store import Store

COPIED: tuple[Table, ...] = (deliveries, transitions, channel_pauses)
"""In the order they are written (transitions refer to deliveries)."""

Progress = Callable[[str, int, int], None]
"""``progress(table, rows_done, rows_total)``, called after each batch."""


class TargetNotEmpty(StoreError):
    """The target already holds an outbox; copying into it would mix two queues."""


@dataclass(frozen=True)
class CopyReport:
    """Rows per table in the source, and in the target after the copy (equal, else the copy raised)."""

    source: dict[str, int]
    target: dict[str, int]
    schema_version: int


def counts(store: Store) -> dict[str, int]:
    """Rows in each copied table."""
    with store.engine.connect() as connection:
        return _counts(connection)


def _counts(connection: Connection) -> dict[str, int]:
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in COPIED
    }


def _key(table: Table) -> Any:
    [column] = table.primary_key.columns
    return column


def copy_outbox(
    source: Store, target: Store, *, batch: int = 1000, force: bool = False, progress: Progress | None = None
) -> CopyReport:
    """Copy every delivery, transition and pause of ``source`` into ``target``.

    A target that holds any of them is refused (:class:`TargetNotEmpty`) unless ``force``, which first
    deletes what it holds. Raises StoreError when the counts differ afterwards (nothing is committed then).
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    with snapshot(source.engine).connect() as reader, writer(target.engine).begin() as output:
        version = current_version(reader)
        target_version = current_version(output)
        if version != target_version:
            raise StoreError(f"the source has schema version {version}, the target {target_version}")
        before = _counts(output)
        if any(before.values()):
            if not force:
                held = ", ".join(f"{n} {name}" for name, n in before.items() if n)
                raise TargetNotEmpty(
                    f"the target outbox is not empty ({held})",
                    hint="copy into a new, empty database, or pass --force to replace what it holds",
                )
            for table in reversed(COPIED):
                output.execute(table.delete())
        totals = _counts(reader)
        for table in COPIED:
            _copy_table(reader, output, table, batch=batch, total=totals[table.name], progress=progress)
        reset_sequences(output, transitions.name)
        after = _counts(output)
        if after != totals:
            raise StoreError(f"the copy is incomplete: the source has {totals}, the target {after}")
    return CopyReport(source=totals, target=after, schema_version=version or 0)


def _copy_table(
    reader: Connection, output: Connection, table: Table, *, batch: int, total: int, progress: Progress | None
) -> None:
    key = _key(table)
    done, last = 0, None
    if progress is not None:
        progress(table.name, 0, total)
    while True:
        query = select(table).order_by(key).limit(batch)
        if last is not None:
            query = query.where(key > last)
        rows = [dict(row) for row in reader.execute(query).mappings()]
        if not rows:
            return
        output.execute(table.insert(), rows)
        done += len(rows)
        last = rows[-1][key.name]
        if progress is not None:
            progress(table.name, done, total)
