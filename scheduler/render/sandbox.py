"""The Jinja2 sandbox templates run in: immutable, and bounded against runaway computation.

Jinja2's own sandbox already refuses ``_private`` and interpreter-internal attributes and calls to methods
that mutate lists, dicts or sets. On top of that, :class:`TemplateSandbox` refuses the few expressions that
could stall a render or fill the memory (``10 ** 10 ** 10``, ``"x" * 10 ** 9``, ``range(10 ** 9)``) with
:class:`~jinja2.sandbox.SecurityError`, even where Jinja2 would have folded them into a constant while
compiling.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment

MAX_ITEMS = MAX_RANGE
"""The most items a template may build with ``range()`` or ``*`` repetition."""

MAX_POWER_BITS = 4096
"""The largest integer, in bits, that ``**`` may produce."""


def bounded_range(*args: int) -> range:
    """``range()`` for templates: at most :data:`MAX_ITEMS` items."""
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_ITEMS + 1
    if size > MAX_ITEMS:
        raise SecurityError(f"range() of more than {MAX_ITEMS} items is refused in templates")
    return numbers


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int) and exponent > 0):
        return
    if abs(base) > 1 and base.bit_length() * exponent > MAX_POWER_BITS:
        raise SecurityError(f"{base} ** {exponent} is too large for a template")


def _check_repeat(left: Any, right: Any) -> None:
    for items, times in ((left, right), (right, left)):
        sized = isinstance(items, str | list | tuple) and isinstance(times, int)
        if sized and len(items) * times > MAX_ITEMS:
            raise SecurityError(f"repeating {len(items)} items {times} times is refused in templates")


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """An :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` that bounds ``range``, ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The globals of one template: the environment's, overlaid with the template's own, in one dict.

        Jinja2 chains the two (a ChainMap) so that later changes to the environment's globals show; every
        render then copies that chain key by key, a third of a short render. Jinja2 advises against changing
        globals once templates are loaded, and this environment's are complete when it is built (``range`` is
        set in ``__init__``), so a copy sees the same names.
        """
        return {**self.globals, **(d or {})}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Apply ``*`` or ``**`` once the result is known to be of a sane size."""
        if operator == "**":
            _check_power(left, right)
        else:
            _check_repeat(left, right)
        return super().call_binop(context, operator, left, right)
