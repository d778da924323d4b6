"""The daily digest (``[alerts.digest]``): what went out in the last 24 hours, with links, per channel.

::

    tagcast on host-1: daily digest, 2026-03-08 08:00 to 2026-03-09 08:00 (Europe/Berlin)
    3 posts went out
    masto (2):
    - The Nomonhan incident in one picture: https://mastodon.social/@me/11223344
    - Khalkhin Gol, day one: https://mastodon.social/@me/11223345
    tg (1):
    - The Nomonhan incident in one picture: https://t.me/tagcastnews/42
    needs a person: 1 failed (tagcast status)

The service arms it as a daily cron job on its clock (:meth:`scheduler.service.clock.Clock.add_daily`); with
several workers one of them sends it (a cluster-wide once-per-period claim).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scheduler.store import Delivery, DeliveryState, Store

PERIOD = timedelta(hours=24)
LISTED = 200
"""At most this many posts are listed (the alert channel's length limit usually cuts sooner)."""


def _link(delivery: Delivery) -> str:
    return delivery.remote_url or ", ".join(delivery.remote_ids) or "(no link)"


def digest_text(
    sent: list[Delivery],
    counts: dict[str, dict[str, int]],
    *,
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
    host: str,
) -> str:
    """The digest of ``sent`` (deliveries sent between ``since`` and ``until``) and the open problems in
    ``counts`` (channel -> state -> number)."""
    when = f"{since.astimezone(zone):%Y-%m-%d %H:%M} to {until.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"
    lines = [f"tagcast on {host}: daily digest, {when}"]
    number = len(sent)
    lines.append(f"{number} post{'s' if number != 1 else ''} went out" if sent else "nothing went out")
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in sent:
        by_channel[delivery.channel].append(delivery)
    for channel in sorted(by_channel):
        deliveries = by_channel[channel]
        lines.append(f"{channel} ({len(deliveries)}):")
        lines += [f"- {d.title or d.source}: {_link(d)}" for d in deliveries]
    problems = {
        state: sum(states.get(state, 0) for states in counts.values())
        for state in (DeliveryState.FAILED.value, DeliveryState.UNKNOWN.value)
    }
    open_problems = ", ".join(f"{n} {state}" for state, n in problems.items() if n)
    if open_problems:
        lines.append(f"needs a person: {open_problems} (tagcast status)")
    return "\n".join(lines)


def build_digest(store: Store, *, now: datetime, zone: ZoneInfo, host: str) -> str:
    """Read the outbox and write the digest of the 24 hours before ``now`` (blocking: run it in a thread)."""
    since = now - PERIOD
    sent = store.sent_since(since, limit=LISTED)
    return digest_text(sent, store.counts(), since=since, until=now, zone=zone, host=host)
