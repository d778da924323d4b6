"""How many due deliveries of a channel the dispatcher claims at once (its batch).

A batch costs one claim transaction for many posts, and their receipts are committed together while the
channel goes on sending (:mod:`scheduler.service.dispatcher`). But its posts wait in ``sending`` for their
turn: meanwhile an edit of their article is refused, ``tagcast queue cancel`` cannot take them back, and other
channels may wait for a free slot. So a channel gets about as many as it sends in :data:`HOLD` (measured on
its recent sends), at most :data:`MOST` (:data:`FIRST` until it has been timed); one at a time when its
adapter cannot tell a delivery that never started from one cut short
(:func:`~scheduler.adapters.base.claims_ahead`)::

    ahead = Ahead(settings)
    store.claim_due(now, worker=w, lease=lease, limit=4, per_channel=ahead.sizes())
    ahead.sent("masto", seconds=0.4)        # after each attempt
"""

from __future__ import annotations

from datetime import timedelta

from scheduler.adapters.base import claims_ahead
from scheduler.adapters.registry import load_adapter
from scheduler.config.settings import Settings
from scheduler.errors import UserError

HOLD = timedelta(seconds=1)
"""About how long the last post of a batch waits for its turn."""

MOST = 256
"""The most deliveries of one channel claimed at once."""

FIRST = 8
"""How many a channel gets before its sends have been timed."""

SMOOTHING = 0.2
"""Weight of the newest send in a channel's average send time."""


class Ahead:
    """Batch sizes by channel, from each channel's adapter and average send time."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._seconds: dict[str, float] = {}
        self._eligible: dict[str, bool] = {}

    def reload(self, settings: Settings) -> None:
        """A new config: channels may have changed network."""
        self._settings = settings
        self._eligible = {}

    def sent(self, channel: str, seconds: float) -> None:
        """One attempt on ``channel`` took ``seconds``."""
        before = self._seconds.get(channel)
        self._seconds[channel] = seconds if before is None else before + SMOOTHING * (seconds - before)

    def size(self, channel: str) -> int:
        """How many due deliveries of ``channel`` to claim at once."""
        if not self._can_batch(channel):
            return 1
        seconds = self._seconds.get(channel)
        if seconds is None:
            return FIRST
        return max(1, min(MOST, int(HOLD.total_seconds() / max(seconds, 1e-6))))

    def sizes(self) -> dict[str, int]:
        """:meth:`size` of every configured channel (a channel not named gets one at a time)."""
        return {channel: self.size(channel) for channel in self._settings.channels}

    def _can_batch(self, channel: str) -> bool:
        eligible = self._eligible.get(channel)
        if eligible is None:
            settings = self._settings.channels.get(channel)
            try:
                eligible = settings is not None and claims_ahead(load_adapter(settings.network))
            except UserError:  # no such adapter: the dispatcher says so when it tries to send
                eligible = False
            self._eligible[channel] = eligible
        return eligible
