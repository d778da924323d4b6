"""One message for twenty failures of one channel: alert items are grouped by channel within a window.

The first item of a channel opens its group; the group is due ``window`` seconds later and carries every item
of that channel that arrived meanwhile. Items about the service as a whole (channel None) form a group of
their own. Times are monotonic seconds (``loop.time()``), passed in, so the grouping is pure::

    grouper = Grouper(window=300)
    grouper.add(item, now=0.0)
    grouper.next_due()            # 300.0
    grouper.pop_due(now=300.0)    # [Group(channel="masto", items=[...])]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scheduler.alerts.items import AlertItem


@dataclass
class Group:
    """The items of one channel (None: the service) collected within one window."""

    channel: str | None
    opened: float
    items: list[AlertItem] = field(default_factory=list)


class Grouper:
    """Open groups by channel; :meth:`pop_due` hands out those whose window has passed."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._open: dict[str | None, Group] = {}

    def add(self, item: AlertItem, *, now: float) -> None:
        group = self._open.get(item.channel)
        if group is None:
            group = self._open[item.channel] = Group(item.channel, now)
        group.items.append(item)

    def next_due(self) -> float | None:
        """When the oldest open group is due; None when none is open."""
        return min((g.opened + self.window for g in self._open.values()), default=None)

    def pop_due(self, *, now: float) -> list[Group]:
        """The groups whose window has passed at ``now``, oldest first (they are closed)."""
        due = [g for g in self._open.values() if g.opened + self.window <= now]
        for group in due:
            del self._open[group.channel]
        return sorted(due, key=lambda g: g.opened)

    def pop_all(self) -> list[Group]:
        """Every open group, at once (shutdown)."""
        groups = sorted(self._open.values(), key=lambda g: g.opened)
        self._open.clear()
        return groups

    def __len__(self) -> int:
        return len(self._open)
