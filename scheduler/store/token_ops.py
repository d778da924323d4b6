"""When each channel's token expires, as its adapter last learned it (``channels test``, the service's daily
look), and the expiry last alerted about (so an expiry is alerted once)::

    store.record_token_expiry("fb", expires_at, refreshable=False, now=now)   # None: it does not expire
    [state.channel for state in store.token_expiries()]
    store.mark_token_alerted("fb", expires_at)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from scheduler.store.base import StoreBase
from scheduler.store.models import utc
from scheduler.store.schema import token_expiries


@dataclass(frozen=True)
class TokenState:
    """A channel's token expiry: whether tagcast can refresh the token, when this was learned, and the expiry
    an alert was last raised for (``None``: none yet)."""

    channel: str
    expires_at: datetime
    refreshable: bool
    checked_at: datetime
    alerted_for: datetime | None


class TokenMixin(StoreBase):
    def token_expiries(self) -> list[TokenState]:
        with self._read() as connection:
            rows = (
                connection.execute(select(token_expiries).order_by(token_expiries.c.channel)).mappings().all()
            )
        return [
            TokenState(
                channel=row["channel"],
                expires_at=row["expires_at"],
                refreshable=bool(row["refreshable"]),
                checked_at=row["checked_at"],
                alerted_for=row["alerted_for"],
            )
            for row in rows
        ]

    def record_token_expiry(
        self, channel: str, expires_at: datetime | None, *, refreshable: bool, now: datetime
    ) -> None:
        """What an adapter learned of ``channel``'s token; ``expires_at`` None: it does not expire (the row
        goes). The expiry last alerted about is kept."""
        with self._write() as connection:
            if expires_at is None:
                connection.execute(delete(token_expiries).where(token_expiries.c.channel == channel))
                return
            values = {"expires_at": utc(expires_at), "refreshable": int(refreshable), "checked_at": utc(now)}
            found = connection.execute(
                select(token_expiries.c.channel).where(token_expiries.c.channel == channel)
            ).first()
            if found is None:
                connection.execute(token_expiries.insert().values(channel=channel, **values))
            else:
                connection.execute(
                    token_expiries.update().where(token_expiries.c.channel == channel).values(**values)
                )

    def mark_token_alerted(self, channel: str, expires_at: datetime) -> None:
        """An alert about ``channel``'s token expiring at ``expires_at`` was raised."""
        with self._write() as connection:
            connection.execute(
                token_expiries.update()
                .where(token_expiries.c.channel == channel)
                .values(alerted_for=utc(expires_at))
            )
