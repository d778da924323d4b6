"""The retry policy: when a failed delivery is tried again, and when tagcast gives up. Pure: no I/O, no clock.

Delays grow exponentially from ``service.backoff_base`` (30 s, 60 s, 120 s, ...) up to
``service.backoff_max``, with jitter: each delay is drawn uniformly from ``[delay / 2, delay]``, so that
channels which failed together do not retry together. A delay is never shorter than the server's
``Retry-After`` (or rate-limit reset), which is honoured up to ``service.max_age``
(:meth:`RetryPolicy.server_wait`). A delivery gives up (``failed``) after ``service.max_attempts``
attempts, once it is more than ``service.max_age`` past its planned time, or when the server asks to wait
past the end of its ``max_age``::

    policy = RetryPolicy.from_settings(settings.service)
    decision = policy.decide(attempts=3, scheduled_at=slot, now=now, retry_after=120.0)
    if decision.give_up:
        store.mark_failed(delivery.id, reason=decision.reason, now=now)
    else:
        store.mark_retry(delivery.id, at=decision.at, reason=decision.reason, now=now)
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from scheduler.adapters.http import bounded_seconds
from scheduler.config.durations import format_duration

LONGEST = timedelta(days=3650)
"""No wait computed here exceeds this, whatever the config says: ``now + wait`` cannot overflow."""


def later(moment: datetime, wait: timedelta) -> datetime:
    """``moment + wait``, with ``wait`` cut to [0, :data:`LONGEST`]: never raises ``OverflowError``."""
    return moment + min(max(wait, timedelta(0)), LONGEST)


class ServiceLimits(Protocol):
    """The keys of ``[service]`` the policy reads (``scheduler.config.models.ServiceSettings``)."""

    @property
    def backoff_base(self) -> timedelta: ...
    @property
    def backoff_max(self) -> timedelta: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def max_age(self) -> timedelta: ...


@dataclass(frozen=True)
class RetryDecision:
    """Retry at ``at``, or give up when ``at`` is None; ``reason`` says which and why, for the history."""

    at: datetime | None
    reason: str

    @property
    def give_up(self) -> bool:
        return self.at is None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and age (see the module docstring)."""

    backoff_base: timedelta
    backoff_max: timedelta
    max_attempts: int
    max_age: timedelta

    @classmethod
    def from_settings(cls, service: ServiceLimits) -> RetryPolicy:
        return cls(service.backoff_base, service.backoff_max, service.max_attempts, service.max_age)

    def ceiling(self, attempt: int) -> timedelta:
        """The delay after failed attempt number ``attempt`` (from 1), before jitter: base * 2**(attempt-1),
        capped at ``backoff_max``."""
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, got {attempt}")
        base = self.backoff_base.total_seconds()
        cap = self.backoff_max.total_seconds()
        exponent = min(attempt - 1, 64)  # 2**64 * any base is past every cap; avoid float overflow
        return timedelta(seconds=max(0.0, min(cap, base * 2.0**exponent)))

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> timedelta:
        """A jittered delay in ``[ceiling / 2, ceiling]``, and never less than the server's ``retry_after``
        (:meth:`server_wait`): a server that asks for longer than ``backoff_max`` is honoured."""
        ceiling = self.ceiling(attempt).total_seconds()
        jittered = (rng or random).uniform(ceiling / 2, ceiling)
        floor = self.server_wait(retry_after) or timedelta(0)
        return max(timedelta(seconds=jittered), floor)

    def server_wait(self, seconds: object) -> timedelta | None:
        """A wait a server asked for (``Retry-After``, a rate-limit reset), as a delay the policy allows:
        bounded (:func:`~scheduler.adapters.http.bounded_seconds`) and cut to ``max_age``: we never call
        before the server said we may (DESIGN: "never before a Retry-After"), and a wait past ``max_age``
        fails the delivery (:meth:`decide`) rather than pausing its channel for years. ``None`` when there is
        no wait (nothing, 0, or not a number). Never raises, whatever the server sent."""
        bounded = bounded_seconds(seconds)
        if not bounded:
            return None
        return min(timedelta(seconds=bounded), self.max_age, LONGEST)

    def decide(
        self,
        *,
        attempts: int,
        scheduled_at: datetime,
        now: datetime,
        retry_after: float | None = None,
        rng: random.Random | None = None,
    ) -> RetryDecision:
        """After the ``attempts``-th attempt failed transiently at ``now``: when to try again, or give up."""
        if attempts >= self.max_attempts:
            return RetryDecision(
                None, f"gave up after {attempts} attempt(s) (service.max_attempts = {self.max_attempts})"
            )
        age = now - scheduled_at
        if age > self.max_age:
            return RetryDecision(
                None,
                f"gave up: {format_duration(age)} past its planned time "
                f"(service.max_age = {format_duration(self.max_age)})",
            )
        asked = bounded_seconds(retry_after)
        deadline = later(scheduled_at, self.max_age)
        if asked and later(now, timedelta(seconds=asked)) > deadline:
            left = max(deadline - now, timedelta(0))
            return RetryDecision(
                None,
                f"gave up: the server asked to wait {_short(timedelta(seconds=asked))}, longer than "
                f"service.max_age = {format_duration(self.max_age)} allows ({_short(left)} left)",
            )
        wait = self.delay(max(1, attempts), retry_after=asked, rng=rng)
        told = ""
        if asked:
            told = f", not before the server's {asked:g} s"
        return RetryDecision(later(now, wait), f"attempt {attempts + 1} in {_short(wait)}{told}")


def _short(wait: timedelta) -> str:
    seconds = wait.total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else format_duration(wait)


def human(span: timedelta) -> str:
    """``"3h12m"`` like the config writes durations, and ``"0.3s"`` below a second."""
    seconds = span.total_seconds()
    return f"{seconds:.3g}s" if 0 < seconds < 1 else format_duration(span)
