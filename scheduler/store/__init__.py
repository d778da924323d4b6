"""The outbox: every planned post as a delivery row, claimed and settled exactly once (``docs/store-api.md``).

Nothing outside this package writes SQL. SQLite (WAL) by default; PostgreSQL through the same code, with the
dialect differences kept in :mod:`scheduler.store.dialect`.

The values and errors are plain Python; :class:`Store` and the results of its operations are imported
when first used (they bring SQLAlchemy), so that ``from scheduler.store.models import Delivery`` stays
cheap for the quick queue commands (:mod:`scheduler.store.direct`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scheduler.lazy import lazy_names
from scheduler.store.errors import DeliveryConflict, DeliveryNotFound, SchemaTooNew, StoreError
from scheduler.store.models import (
    ChannelPause,
    ClaimRequest,
    Delivery,
    DeliveryState,
    Transition,
    UpsertOutcome,
)

if TYPE_CHECKING:
    from scheduler.store.cluster_ops import PeriodicClaim, WorkerInfo
    from scheduler.store.ingest_ops import UpsertResult
    from scheduler.store.misfire_ops import Reslot
    from scheduler.store.store import Store

_WITH_SQLALCHEMY = {
    "PeriodicClaim": "scheduler.store.cluster_ops",
    "WorkerInfo": "scheduler.store.cluster_ops",
    "UpsertResult": "scheduler.store.ingest_ops",
    "Reslot": "scheduler.store.misfire_ops",
    "Store": "scheduler.store.store",
}


__getattr__ = lazy_names(__name__, _WITH_SQLALCHEMY, globals())


__all__ = [
    "ChannelPause",
    "ClaimRequest",
    "Delivery",
    "DeliveryConflict",
    "DeliveryNotFound",
    "DeliveryState",
    "PeriodicClaim",
    "Reslot",
    "SchemaTooNew",
    "Store",
    "StoreError",
    "Transition",
    "UpsertOutcome",
    "UpsertResult",
    "WorkerInfo",
]
