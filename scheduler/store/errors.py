"""Errors of the outbox, under :class:`scheduler.errors.UserError`.

::

    UserError
    └── StoreError              the outbox cannot be opened or used as asked
        ├── SchemaTooNew        the database was written by a newer tagcast
        ├── DeliveryNotFound    (LookupError) no delivery with that id
        └── DeliveryConflict    the state does not allow it (e.g. cancel a sent delivery)
"""

from __future__ import annotations

from scheduler.errors import UserError


class StoreError(UserError):
    """The outbox database cannot be opened or used as asked."""


class SchemaTooNew(StoreError):
    """The database has a schema version this tagcast does not know: it was written by a newer one."""


class DeliveryNotFound(StoreError, LookupError):
    """No delivery has that id."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(
            f"no delivery with id {delivery_id!r}",
            hint="`tagcast queue list` shows the ids of queued deliveries",
        )
        self.delivery_id = delivery_id


class DeliveryConflict(StoreError):
    """The delivery's state does not allow the change (another worker or the operator changed it first)."""
