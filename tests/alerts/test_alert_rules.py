"""Which events become alerts, how items are grouped and limited, and what the text says (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.alerts.grouping import Grouper
from scheduler.alerts.items import AlertItem, alert_item
from scheduler.alerts.limits import HourlyLimit
from scheduler.alerts.render import fit, render_group, render_suppressed
from scheduler.config.alerts import AlertEvent, AlertsSettings
from scheduler.service.events import (
    ChannelPaused,
    ConfigReloadRefused,
    DeliveryFailed,
    DeliverySent,
    DeliveryUnknown,
    FailureKind,
    PauseCause,
    ServiceStarted,
    SlotMissed,
)

T0 = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
ON = AlertsSettings(channels=["ops"])  # type: ignore[call-arg]


def failed(number: int, channel: str = "masto", *, final: bool = True) -> DeliveryFailed:
    return DeliveryFailed(
        at=T0 + timedelta(seconds=number),
        delivery_id=f"d-{number}",
        channel=channel,
        source=f"posts/p{number}.md",
        attempt=1,
        kind=FailureKind.PERMANENT,
        reason=f"422 Validation failed ({number})",
        final=final,
    )


def paused(cause: PauseCause, until: datetime | None) -> ChannelPaused:
    return ChannelPaused(at=T0, channel="masto", until=until, reason="rate limited", cause=cause)


def test_only_events_that_need_a_person_become_alerts() -> None:
    sent = DeliverySent(
        at=T0, delivery_id="d-1", channel="masto", source="posts/a.md", scheduled_at=T0, url="https://x"
    )
    assert alert_item(sent, ON) is None
    assert alert_item(failed(1, final=False), ON) is None  # a retry is not a person's problem yet
    item = alert_item(failed(1), ON)
    assert item is not None and item.kind is AlertEvent.FAILED and item.channel == "masto"
    assert "d-1" in item.summary and "posts/p1.md" in item.summary and "422" in item.summary
    assert item.command == "tagcast queue retry d-1   (once the cause is fixed)"

    unknown = DeliveryUnknown(at=T0, delivery_id="d-2", channel="tg", source="posts/b.md", reason="lost")
    item = alert_item(unknown, ON)
    assert item is not None and "tagcast queue resolve d-2" in (item.command or "")

    crash = ServiceStarted(at=T0, worker_id="w2", after_crash=True, previous_worker="w1", last_seen=T0)
    clean = ServiceStarted(at=T0, worker_id="w2", after_crash=False, previous_worker="w1", last_seen=T0)
    item = alert_item(crash, ON)
    assert item is not None and item.channel is None and "did not stop cleanly" in item.summary
    assert alert_item(clean, ON) is None

    refused = alert_item(ConfigReloadRefused(at=T0, reason="channels.x.enabled: not a boolean"), ON)
    assert refused is not None and refused.command == "tagcast config validate"

    late = alert_item(
        SlotMissed(
            at=T0, delivery_id="d-3", channel="masto", source="posts/c.md", missed_by=timedelta(minutes=12)
        ),
        ON,
    )
    assert late is not None and "missed its slot by 12m" in late.summary and "goes out late" in late.summary


def test_alerts_are_off_without_channels_and_events_can_be_chosen() -> None:
    assert alert_item(failed(1), AlertsSettings()) is None  # type: ignore[call-arg]
    only_unknown = AlertsSettings(channels=["ops"], events=["unknown"])  # type: ignore[call-arg]
    assert alert_item(failed(1), only_unknown) is None


def test_a_rate_limit_pause_is_reported_only_when_longer_than_the_threshold() -> None:
    settings = AlertsSettings(channels=["ops"], pause_threshold="15m")  # type: ignore[call-arg]
    assert alert_item(paused(PauseCause.RATE_LIMIT, T0 + timedelta(minutes=5)), settings) is None
    assert alert_item(paused(PauseCause.QUOTA, T0 + timedelta(minutes=15)), settings) is None
    long_pause = alert_item(paused(PauseCause.RATE_LIMIT, T0 + timedelta(hours=2)), settings)
    assert long_pause is not None and "resumes by itself" in (long_pause.command or "")
    auth = alert_item(paused(PauseCause.AUTH, None), settings)
    assert auth is not None and "tagcast queue resume masto" in (auth.command or "")


def item(number: int, channel: str | None = "masto") -> AlertItem:
    result = alert_item(failed(number, channel or "masto"), ON)
    assert result is not None
    return result if channel is not None else AlertItem(result.kind, result.at, None, result.summary)


def test_items_of_one_channel_within_the_window_make_one_group() -> None:
    grouper = Grouper(window=300)
    for number in range(20):
        grouper.add(item(number), now=float(number))
    grouper.add(item(99, "tg"), now=100.0)
    assert grouper.next_due() == 300.0
    assert grouper.pop_due(now=299.9) == []
    [masto] = grouper.pop_due(now=300.0)
    assert masto.channel == "masto" and len(masto.items) == 20
    grouper.add(item(21), now=301.0)  # a new window for masto
    assert [g.channel for g in grouper.pop_due(now=400.0)] == ["tg"]
    assert [len(g.items) for g in grouper.pop_all()] == [1]
    assert len(grouper) == 0


def test_the_hourly_limit_holds_back_and_then_allows_one_summary() -> None:
    limit = HourlyLimit(max_per_hour=2, period=3600)
    assert limit.allow(0.0) and limit.allow(10.0)
    assert not limit.allow(20.0)
    limit.suppress(7)
    assert not limit.summary_due(100.0)
    assert limit.reopens_at() == 3600.0
    assert limit.summary_due(3600.0)
    assert limit.take_suppressed(3600.0) == 7
    assert limit.suppressed == 0 and limit.reopens_at() is None
    assert limit.allow(3610.0)  # the summary counted as one of the two
    assert not limit.allow(3620.0)


def test_the_message_lists_five_of_each_kind_then_how_to_see_the_rest() -> None:
    grouper = Grouper(window=0)
    for number in range(20):
        grouper.add(item(number), now=0.0)
    [group] = grouper.pop_all()
    text = render_group(group, host="box")
    assert text.splitlines()[0] == 'tagcast on box: channel "masto" needs a person (20 problems)'
    assert text.count("- failed: ") == 5
    assert "… and 15 more failed: tagcast queue list --channel masto --state failed" in text
    assert "run: tagcast queue retry d-0" in text
    assert render_suppressed(3, max_per_hour=20, host="box") == (
        "tagcast on box: 3 more alerts suppressed in the last hour (alerts.max_per_hour = 20); "
        "run: tagcast status"
    )


def test_a_long_message_is_cut_to_fit_the_alert_channel() -> None:
    text = "header\n" + "\n".join(f"- line {n}" for n in range(50))
    short = fit(text, lambda t: len(t) <= 60)
    assert len(short) <= 60 and short.startswith("header\n- line 0") and short.endswith("run tagcast status)")
    assert fit("x" * 500, lambda t: len(t) <= 40).endswith("…")
    assert len(fit("x" * 500, lambda t: len(t) <= 40)) <= 40
    assert fit("fits", lambda t: True) == "fits"
