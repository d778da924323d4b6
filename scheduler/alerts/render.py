"""Alert text: short, human, one problem a line with the command to run; cut to fit the alert channel.

::

    tagcast on host-1: channel "tg" needs a person (2 problems)
    - channel paused until resumed: credentials rejected (telegram: bot token rejected (401 ...)) ...
      run: tagcast channels test tg, then tagcast queue resume tg   (once the credentials are fixed)
    - failed: d-5c1f0e2a (posts/nomonhan.md): telegram: bot token rejected (401 Unauthorized) ...
      run: tagcast queue retry d-5c1f0e2a   (once the cause is fixed)

Secrets are masked by the caller (:class:`scheduler.alerts.alerter.Alerter`) on the finished text.
"""

from __future__ import annotations

from collections.abc import Callable

from scheduler.alerts.grouping import Group
from scheduler.alerts.items import AlertItem
from scheduler.config.alerts import AlertEvent

SHOWN_PER_KIND = 5
ORDER = (
    AlertEvent.PAUSED,
    AlertEvent.FAILED,
    AlertEvent.UNKNOWN,
    AlertEvent.MISSED_SLOT,
    AlertEvent.CRASH_RESTART,
    AlertEvent.CONFIG_REFUSED,
    AlertEvent.SOURCE_FAILED,
    AlertEvent.TOKEN_EXPIRING,
)
CUT = "… (more: run tagcast status)"


def _listing(kind: AlertEvent, channel: str | None) -> str:
    """The command that lists every item of ``kind`` on ``channel``."""
    where = f" --channel {channel}" if channel else ""
    if kind in (AlertEvent.FAILED, AlertEvent.UNKNOWN):
        return f"tagcast queue list{where} --state {kind.value}"
    return f"tagcast queue list{where}" if kind is AlertEvent.MISSED_SLOT else "tagcast status"


def _lines(item: AlertItem) -> list[str]:
    lines = [f"- {item.summary}"]
    if item.command:
        lines.append(f"  run: {item.command}")
    return lines


def render_group(group: Group, *, host: str) -> str:
    """The message for one group: a header, then the items by kind (at most five of each, then a count)."""
    count = len(group.items)
    problems = f"{count} problem{'s' if count != 1 else ''}"
    if group.channel is None:
        lines = [f"tagcast on {host}: the service needs a person ({problems})"]
    else:
        lines = [f'tagcast on {host}: channel "{group.channel}" needs a person ({problems})']
    for kind in ORDER:
        items = [item for item in group.items if item.kind is kind]
        for item in items[:SHOWN_PER_KIND]:
            lines += _lines(item)
        if len(items) > SHOWN_PER_KIND:
            more = len(items) - SHOWN_PER_KIND
            lines.append(
                f"- … and {more} more {kind.value.replace('_', ' ')}: {_listing(kind, group.channel)}"
            )
    return "\n".join(lines)


def render_suppressed(number: int, *, max_per_hour: int, host: str) -> str:
    """The one line that stands for every alert the hourly limit held back."""
    alerts = f"{number} more alert{'s' if number != 1 else ''}"
    return (
        f"tagcast on {host}: {alerts} suppressed in the last hour (alerts.max_per_hour = {max_per_hour}); "
        "run: tagcast status"
    )


def fit(text: str, fits: Callable[[str], bool]) -> str:
    """``text`` if the channel takes it, else its first lines and a pointer to ``tagcast status``; a single
    line that is still too long is cut short."""
    if fits(text):
        return text
    lines = text.split("\n")
    while len(lines) > 1:
        lines.pop()
        candidate = "\n".join([*lines, CUT])
        if fits(candidate):
            return candidate
    line = lines[0]
    while line and not fits(line + "…"):
        line = line[: max(0, int(len(line) * 0.9) - 1)]
    return line + "…"
