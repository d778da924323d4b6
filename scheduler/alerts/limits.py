"""At most ``max_per_hour`` alert messages in any hour; what is held back is counted and said in one line.

A sliding window over the send times of the last hour (monotonic seconds, passed in, so it is pure)::

    limit = HourlyLimit(max_per_hour=20)
    if limit.allow(now):
        send(message)
    else:
        limit.suppress(len(group.items))
    ...
    if limit.summary_due(now):                  # the window has room again
        send(f"{limit.take_suppressed(now)} more alerts suppressed ...")
"""

from __future__ import annotations

from collections import deque

HOUR = 3600.0


class HourlyLimit:
    """Counts messages sent in the last hour and the alert items suppressed meanwhile."""

    def __init__(self, max_per_hour: int, *, period: float = HOUR) -> None:
        self.max_per_hour = max_per_hour
        self.period = period
        self.suppressed = 0
        self._sent: deque[float] = deque()

    def _forget(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.period:
            self._sent.popleft()

    def allow(self, now: float) -> bool:
        """Whether a message may go out at ``now``; if so it is counted."""
        self._forget(now)
        if len(self._sent) >= self.max_per_hour:
            return False
        self._sent.append(now)
        return True

    def suppress(self, items: int) -> None:
        self.suppressed += items

    def reopens_at(self) -> float | None:
        """When the window has room again, if something was suppressed (None: nothing waits)."""
        if not self.suppressed:
            return None
        if len(self._sent) < self.max_per_hour:
            return 0.0
        return self._sent[0] + self.period

    def summary_due(self, now: float) -> bool:
        """Something was suppressed and the window has room again: time for the one summary line."""
        self._forget(now)
        return self.suppressed > 0 and len(self._sent) < self.max_per_hour

    def take_suppressed(self, now: float) -> int:
        """The number suppressed since the last summary (reset to 0); the summary counts as a message."""
        number, self.suppressed = self.suppressed, 0
        self._sent.append(now)
        return number
