"""What one render may spend: time (per post and per article), output, and text built along the way.

A :class:`RenderBudget` is made for one post and covers every render fitting needs for it; the sandbox
(:mod:`scheduler.render.sandbox`) charges it at every loop iteration, call, filter and output, so a template
that spins or fills the memory stops with an exception instead of stalling whoever renders it::

    limits = RenderLimits(timeout=2.0, article_timeout=10.0, max_output=65_536)
    article_deadline = time.monotonic() + limits.article_timeout
    budget = RenderBudget(limits, clock=time.monotonic, article_deadline=article_deadline)
    text = renderer.render("bluesky.j2", context, budget=budget)

Time is read from the ``clock`` given (a test passes a clock that advances at each reading, so a loop runs
out of time after a known number of iterations, without waiting). ``stop`` is set when the service shuts down:
the render in progress then ends with :class:`RenderCancelled` at its next step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from jinja2.exceptions import SecurityError

Clock = Callable[[], float]

STEPS_PER_LOOK = 16
"""A budget reads its clock once every this many steps."""


@dataclass(frozen=True)
class RenderLimits:
    """The ``[render]`` settings: seconds per post, seconds per article, characters of output per render."""

    timeout: float = 2.0
    article_timeout: float = 10.0
    max_output: int = 65_536


class RenderBudgetExceeded(Exception):
    """A render ran out of its budget; ``kind`` is ``"time"``, ``"output"`` or ``"text"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class RenderCancelled(Exception):
    """The render was stopped from outside (the service is shutting down); not a problem of the template."""


class TooLarge(SecurityError):
    """One operation would build a value larger than a render may hold (``center(10 ** 9)``)."""


def _seconds(value: float) -> str:
    return f"{value:g} s"


class RenderBudget:
    """Time for one post (all its renders), and, per render, output and text-building allowances.

    Per render, the caps scale with the article's own text (``text_size``: a long article may be rendered
    whole before fitting shortens it): output ``max_output + 4 * text_size`` characters, one value at most 4
    times that, and all text built by the template's operations at most 64 times that.
    """

    def __init__(
        self,
        limits: RenderLimits,
        *,
        clock: Clock,
        stop: threading.Event | None = None,
        article_deadline: float | None = None,
    ) -> None:
        self.limits = limits
        self._countdown = 1
        self._clock = clock
        self._stop = stop
        self.deadline = clock() + limits.timeout
        self._late = f"took longer than {_seconds(limits.timeout)} to render (render.timeout)"
        if article_deadline is not None and article_deadline < self.deadline:
            self.deadline = article_deadline
            self._late = (
                f"ran out of the article's time: its posts took longer than "
                f"{_seconds(limits.article_timeout)} to render together (render.article_timeout)"
            )
        self.begin(0)

    def begin(self, text_size: int) -> None:
        """Start one render of a context whose strings hold ``text_size`` characters."""
        self.output_cap = self.limits.max_output + 4 * text_size
        self.value_cap = 4 * self.output_cap
        self.text_cap = 64 * self.output_cap
        self.output = 0
        self.built = 0

    def tick(self) -> None:
        """One step (a loop iteration, a call, a filter, an output): raise when out of time or stopped.

        The clock and ``stop`` are looked at every :data:`STEPS_PER_LOOK` steps (each step is bounded work).
        """
        self._countdown -= 1
        if self._countdown:
            return
        self._countdown = STEPS_PER_LOOK
        if self._stop is not None and self._stop.is_set():
            raise RenderCancelled("rendering stopped: the service is shutting down")
        if self._clock() > self.deadline:
            raise RenderBudgetExceeded("time", self._late)

    def emit(self, size: int) -> None:
        """Charge ``size`` characters of output (anywhere: printed, or captured by set, macro or filter)."""
        self.expect(size)
        self.output += size
        self.tick()

    def expect(self, size: int) -> None:
        """Raise when ``size`` more characters of output would be over the cap (nothing is charged)."""
        if self.output + size > self.output_cap:
            raise RenderBudgetExceeded(
                "output",
                f"produced more than {self.output_cap} characters (render.max_output = "
                f"{self.limits.max_output}, plus 4 times the article's own text)",
            )

    def allow(self, size: int, what: str) -> None:
        """Refuse (:class:`TooLarge`) an operation that would build a value of ``size`` characters or items
        over the cap for one value; charge what it builds to the render's text allowance."""
        if size > self.value_cap:
            raise TooLarge(
                f"{what} would build {size} characters or items; a template may build at most "
                f"{self.value_cap} in one value"
            )
        self.charge(size)

    def charge(self, size: int) -> None:
        """Count ``size`` characters or items built by an operation against the render's text allowance."""
        self.built += size
        if self.built > self.text_cap:
            raise RenderBudgetExceeded(
                "text",
                f"built more than {self.text_cap} characters of text along the way (64 times the output "
                "allowance)",
            )
        self.tick()


def _never() -> float:
    return 0.0


_UNLIMITED = RenderLimits(timeout=float("inf"), article_timeout=float("inf"))
_current: ContextVar[RenderBudget | None] = ContextVar("tagcast_render_budget", default=None)


def current_budget() -> RenderBudget:
    """The budget of the render running in this thread; outside a render, a fresh one without a deadline
    (sizes are still bounded)."""
    budget = _current.get()
    return RenderBudget(_UNLIMITED, clock=_never) if budget is None else budget


@contextmanager
def charging(budget: RenderBudget) -> Iterator[RenderBudget]:
    """Make ``budget`` the one the sandbox charges in this thread, for the duration of the block."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)
