"""The retry policy: exponential backoff from backoff_base, capped, jittered in [d/2, d], never before
retry_after, and giving up after max_attempts or max_age."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.config.settings import Settings
from scheduler.service.retry import RetryPolicy

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def policy(**overrides: object) -> RetryPolicy:
    values: dict[str, object] = {
        "backoff_base": timedelta(seconds=30),
        "backoff_max": timedelta(hours=1),
        "max_attempts": 8,
        "max_age": timedelta(days=2),
    }
    values.update(overrides)
    return RetryPolicy(**values)  # type: ignore[arg-type]


def test_ceiling_doubles_from_the_base_and_stops_at_the_cap() -> None:
    p = policy()
    assert [p.ceiling(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert p.ceiling(500) == timedelta(hours=1)


@pytest.mark.parametrize("attempt", [1, 2, 3, 7, 40])
def test_jitter_stays_between_half_and_the_full_delay(attempt: int) -> None:
    p = policy()
    rng = random.Random(attempt)
    ceiling = p.ceiling(attempt)
    delays = [p.delay(attempt, rng=rng) for _ in range(500)]
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 400  # really jittered, not a constant


def test_never_earlier_than_retry_after() -> None:
    p = policy()
    rng = random.Random(1)
    assert all(p.delay(1, retry_after=600, rng=rng) >= timedelta(seconds=600) for _ in range(200))
    decision = p.decide(attempts=1, scheduled_at=NOW, now=NOW, retry_after=90.5, rng=rng)
    assert decision.at is not None and decision.at - NOW >= timedelta(seconds=90.5)
    assert "90.5 s" in decision.reason


def test_gives_up_after_max_attempts() -> None:
    p = policy(max_attempts=3)
    assert not p.decide(attempts=2, scheduled_at=NOW, now=NOW).give_up
    decision = p.decide(attempts=3, scheduled_at=NOW, now=NOW)
    assert decision.give_up and decision.at is None
    assert "3 attempt(s)" in decision.reason and "max_attempts = 3" in decision.reason


def test_gives_up_past_max_age() -> None:
    p = policy(max_age=timedelta(hours=6))
    assert not p.decide(attempts=1, scheduled_at=NOW, now=NOW + timedelta(hours=6)).give_up
    decision = p.decide(attempts=1, scheduled_at=NOW, now=NOW + timedelta(hours=6, seconds=1))
    assert decision.give_up
    assert "max_age = 6h" in decision.reason


def test_retry_time_follows_the_attempt_number() -> None:
    p = policy()
    rng = random.Random(7)
    first = p.decide(attempts=1, scheduled_at=NOW, now=NOW, rng=rng)
    fifth = p.decide(attempts=5, scheduled_at=NOW, now=NOW, rng=rng)
    assert first.at is not None and fifth.at is not None
    assert timedelta(seconds=15) <= first.at - NOW <= timedelta(seconds=30)
    assert timedelta(seconds=240) <= fifth.at - NOW <= timedelta(seconds=480)
    assert "attempt 2" in first.reason and "attempt 6" in fifth.reason


def test_built_from_the_service_settings() -> None:
    service = Settings.model_validate(
        {"service": {"backoff_base": "5s", "backoff_max": "1m", "max_attempts": 2, "max_age": "1h"}}
    ).service
    p = RetryPolicy.from_settings(service)
    assert p == RetryPolicy(timedelta(seconds=5), timedelta(minutes=1), 2, timedelta(hours=1))


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        policy().ceiling(0)
