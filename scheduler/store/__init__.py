"""The outbox: every planned post as a delivery row, claimed and settled exactly once (``docs/store-api.md``).

Nothing outside this package writes SQL. SQLite (WAL) by default; PostgreSQL through the same code, with the
dialect differences kept in :mod:`scheduler.store.dialect`.
"""

from __future__ import annotations

from scheduler.store.cluster_ops import PeriodicClaim, WorkerInfo
from scheduler.store.errors import DeliveryConflict, DeliveryNotFound, SchemaTooNew, StoreError
from scheduler.store.ingest_ops import UpsertResult
from scheduler.store.models import ChannelPause, Delivery, DeliveryState, Transition, UpsertOutcome
from scheduler.store.store import Store

__all__ = [
    "ChannelPause",
    "Delivery",
    "DeliveryConflict",
    "DeliveryNotFound",
    "DeliveryState",
    "PeriodicClaim",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "Transition",
    "UpsertOutcome",
    "UpsertResult",
    "WorkerInfo",
]
