"""The Jinja2 sandbox templates run in: immutable, and bounded in time and size.

Jinja2's own sandbox already refuses ``_private`` and interpreter-internal attributes and calls to methods
that mutate lists, dicts or sets. On top of that, :class:`TemplateSandbox`

- refuses, before building it, any value larger than the render's budget allows (``"x" * 10 ** 9``,
  ``"a".center(10 ** 9)``, ``"%999999999s" % "a"``, ``"{:999999999}".format(1)``, ``indent(10 ** 9)``,
  ``lipsum(10 ** 7)``, ``10 ** 10 ** 10``), even where Jinja2 would have folded it into a constant while
  compiling; such a refusal is a :class:`~scheduler.render.budget.TooLarge`, a
  :class:`~jinja2.sandbox.SecurityError`;
- charges the render's :class:`~scheduler.render.budget.RenderBudget` at every loop iteration (``range()`` is
  lazy and counts each step), call, filter, ``~``, slice and output, so that a template that loops for ever,
  or prints or builds too much, ends with :class:`~scheduler.render.budget.RenderBudgetExceeded`. What a call
  or filter returns is charged too (a list, dict, ``namespace()`` or ``cycler()`` weighed whole with all it
  holds, an iterator at :data:`LAZY_COST`), so the memory a render can hold is bounded by these sizes
  whatever its time budget.

The charging points are put into each template when it is parsed (:class:`_Charging`): every ``for`` loop
iterates through ``_tagcast_loop``, every printed expression goes through ``_tagcast_output``, every ``~``
through ``_tagcast_concat``, every slice through ``_tagcast_sliced`` and every list, tuple or dict display
that holds variables through ``_tagcast_built``. They are filters taking the context, which Jinja2 never
folds at compile time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from string import Formatter
from typing import Any, SupportsIndex, overload

from jinja2 import nodes
from jinja2.runtime import Context, str_join
from jinja2.sandbox import MAX_RANGE, ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Cycler, Namespace, _PassArg, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer
from markupsafe import EscapeFormatter, Markup

from scheduler.render.bounds import (
    FILTER_SIZES,
    join_size,
    lipsum_size,
    method_size,
    percent_size,
    sized,
    weight,
    widest_in_spec,
)
from scheduler.render.budget import TooLarge, current_budget

MAX_ITEMS = MAX_RANGE
"""The most items a template may build with ``range()`` or ``*`` repetition."""

MAX_POWER_BITS = 4096
"""The largest integer, in bits, that ``**`` may produce."""

_CONTAINERS = (list, tuple, dict, set, frozenset)

_HOLDERS = (*_CONTAINERS, Namespace, Cycler)
"""What a call may return that holds other values: weighed whole, so that chaining them in a loop
(``{% set ns.last = namespace(previous=ns.last, ...) %}``) is bounded by size, not only by time."""

LAZY_COST = 64
"""What an iterator returned by a filter or a call (``map``, ``select``) is charged, in characters: it holds
the iterator it wraps, so a loop that stacks them for ever is stopped by the text allowance, not the clock."""


class BudgetedRange(Sequence[int]):
    """``range()`` for templates: at most :data:`MAX_ITEMS` items, and each step iterated is charged to the
    render's budget, so nested loops over big ranges run out of time instead of spinning."""

    def __init__(self, *args: int) -> None:
        self._range = range(*args)
        try:
            size = len(self._range)
        except OverflowError:
            size = MAX_ITEMS + 1
        if size > MAX_ITEMS:
            raise TooLarge(f"range() of more than {MAX_ITEMS} items is refused in templates")

    def __iter__(self) -> Iterator[int]:
        tick = current_budget().tick
        for number in self._range:
            tick()
            yield number

    def __reversed__(self) -> Iterator[int]:
        tick = current_budget().tick
        for number in reversed(self._range):
            tick()
            yield number

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, index: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...

    def __getitem__(self, index: SupportsIndex | slice) -> int | Sequence[int]:
        if isinstance(index, slice):
            sliced = self._range[index]
            return BudgetedRange(sliced.start, sliced.stop, sliced.step)
        return self._range[index]

    def __contains__(self, value: object) -> bool:
        return value in self._range

    def __repr__(self) -> str:
        return repr(self._range)


def bounded_range(*args: int) -> BudgetedRange:
    """``range()`` for templates (:class:`BudgetedRange`)."""
    return BudgetedRange(*args)


def bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    """``lipsum()`` for templates: refused when it would write more text than a render may build."""
    current_budget().allow(lipsum_size(n, max), f"lipsum({n}, max={max})")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int) and exponent > 0):
        return
    if abs(base) > 1 and base.bit_length() * exponent > MAX_POWER_BITS:
        raise TooLarge(f"{base} ** {exponent} is too large for a template")


def _check_repeat(left: Any, right: Any) -> None:
    for items, times in ((left, right), (right, left)):
        sized_ = isinstance(items, str | bytes | list | tuple) and isinstance(times, int)
        if sized_ and len(items) * times > MAX_ITEMS:
            raise TooLarge(f"repeating {len(items)} items {times} times is refused in templates")
        if sized_ and times > 0:
            cap = current_budget().value_cap
            current_budget().allow(weight(items, cap) * times, f"repeating {len(items)} items {times} times")


def _binop_size(operator_: str, left: Any, right: Any, cap: int) -> int | None:
    if operator_ == "%" and isinstance(left, str | bytes):
        return percent_size(left if isinstance(left, str) else left.decode("latin-1"), right, cap)
    for kind in (str, bytes, list, tuple):
        if operator_ == "+" and isinstance(left, kind) and isinstance(right, kind):  # str + Markup too
            return weight(left, cap) + weight(right, cap)
    return None


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (a filter called ``name``) charged to the render's budget: a step, its estimated size when it
    can outgrow its input (:data:`~scheduler.render.bounds.FILTER_SIZES`), or the size of a container it is
    given (a list printed as text), and the size of what it returns."""
    skip = 0 if _PassArg.from_obj(func) is None else 1
    estimate = FILTER_SIZES.get(name)

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        if estimate is not None and len(args) > skip:
            values = list(args[skip:])
            budget.allow(estimate(values, kwargs, budget.value_cap), f"the filter {name}")
            args = (*args[:skip], *values)
        elif len(args) > skip and isinstance(args[skip], _CONTAINERS):
            budget.allow(weight(args[skip], budget.value_cap), f"the filter {name}")
        result = func(*args, **kwargs)
        budget.charge(_built_size(result))
        return result

    return guarded


def _built_size(result: Any) -> int:
    """What a filter's or a call's ``result`` is charged: its length, or :data:`LAZY_COST` for an iterator."""
    if isinstance(result, Iterator):
        return LAZY_COST
    return sized(result)


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in templates: each field's width and precision, and size, within the budget."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = current_budget()
        size = widest_in_spec(format_spec) + weight(value, budget.value_cap)
        budget.allow(size, f"the format field {{:{format_spec[:20]}}}")
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


class TemplateSandbox(ImmutableSandboxedEnvironment):
    """An :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment` bounded in time and size (see the module
    docstring). Filters registered after it is built are guarded when a template is compiled."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = bounded_range
        self.globals["lipsum"] = bounded_lipsum
        self.filters.update(
            {
                "_tagcast_loop": _loop,
                "_tagcast_output": _output,
                "_tagcast_emit": _emit,
                "_tagcast_concat": _concat,
                "_tagcast_sliced": _sliced,
                "_tagcast_built": _built,
            }
        )

    def guard_filters(self) -> None:
        """Wrap every filter not yet guarded (:func:`guard_filter`)."""
        for name, func in list(self.filters.items()):
            if not getattr(func, "_tagcast_guarded", False):
                guarded = guard_filter(name, func)
                guarded._tagcast_guarded = True  # type: ignore[attr-defined]
                self.filters[name] = guarded

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        self.guard_filters()
        return _Charging().visit(super()._parse(source, name, filename))  # type: ignore[no-any-return]

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """The globals of one template: the environment's, overlaid with the template's own, in one dict.

        Jinja2 chains the two (a ChainMap) so that later changes to the environment's globals show; every
        render then copies that chain key by key, a third of a short render. Jinja2 advises against changing
        globals once templates are loaded, and this environment's are complete when it is built (``range`` is
        set in ``__init__``), so a copy sees the same names.
        """
        return {**self.globals, **(d or {})}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Apply ``*``, ``**``, ``%`` or ``+`` once the result is known to be of a sane size."""
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
        else:
            budget = current_budget()
            size = _binop_size(operator, left, right, budget.value_cap)
            if size is not None:
                budget.allow(size, f"the operator {operator}")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call ``__obj`` as the sandbox does, once a str or bytes method's result is known to be of a sane
        size; charge the step and what the call returns."""
        budget = current_budget()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            name = getattr(__obj, "__name__", "")
            size: int | None
            if name == "join" and args:
                args = (list(args[0]), *args[1:])
                size = join_size(owner, args[0], budget.value_cap)
            else:
                size = method_size(owner, name, (*args, *kwargs.values()), budget.value_cap)
            if size is not None:
                budget.allow(size, f"{name}()")
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, _HOLDERS) and not isinstance(owner, str | bytes):
            budget.allow(weight(result, budget.value_cap), "a call")  # dict(a=x, b=x, ...), namespace(...)
        else:
            budget.charge(_built_size(result))  # a str method's pieces are no bigger than the str
        return result

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` through a formatter that bounds every field."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        f_self: str = value.__self__
        formatter: Formatter = (
            _BoundedEscapeFormatter(self, escape=f_self.escape)
            if isinstance(f_self, Markup)
            else _BoundedFormatter(self)
        )
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return type(f_self)(formatter.vformat(f_self, (), args[0]))
            return type(f_self)(formatter.vformat(f_self, args, kwargs))

        return functools.update_wrapper(bounded, value)


# --- the charging points put into every template ---------------------------------------------------------


def _loop(context: Context, iterable: Any) -> Iterator[Any]:
    tick = current_budget().tick
    for item in iterable:
        tick()
        yield item


def _output(context: Context, value: Any, extra: int = 0) -> Any:
    """A printed value, charged as output; anything but a string or None is turned into its text here (as
    Jinja2 would next), once its size is known to fit (a list of big values is refused before it is
    printed)."""
    budget = current_budget()
    if value is None or isinstance(value, str):
        budget.emit(extra if value is None else len(value) + extra)
        return value
    if isinstance(value, _CONTAINERS):
        budget.expect(weight(value, budget.output_cap))
    text = str(value)
    budget.emit(len(text) + extra)
    return text


def _emit(context: Context, size: int) -> str:
    current_budget().emit(size)
    return ""


def _concat(context: Context, parts: tuple[Any, ...]) -> str:
    budget = current_budget()
    size = sum(len(part) if isinstance(part, str) else weight(part, budget.value_cap) for part in parts)
    budget.allow(size, "the operator ~")
    return str_join(parts)


def _sliced(context: Context, value: Any) -> Any:
    """A slice (``text[::-1]``, ``items[1:]``): a new value, charged (Jinja2 slices without ``getitem``)."""
    current_budget().charge(sized(value))
    return value


def _built(context: Context, value: Any) -> Any:
    budget = current_budget()
    budget.allow(weight(value, budget.value_cap), "a list or dict")
    return value


_POINTS: tuple[Any, ...] = (_loop, _output, _emit, _concat, _sliced, _built)
for _point in _POINTS:
    _point.jinja_pass_arg = _PassArg.context
    _point._tagcast_guarded = True  # each charges the budget itself


def _point_filter(node: nodes.Node, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


class _Charging(NodeTransformer):
    """Routes loops, output, ``~`` and displays of a parsed template through the charging points."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _point_filter(node.iter, "_tagcast_loop")
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node | list[nodes.Node]:
        self.generic_visit(node)
        data = sum(len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData))
        expressions = [
            index for index, child in enumerate(node.nodes) if not isinstance(child, nodes.TemplateData)
        ]
        for index in expressions:
            extra = [nodes.Const(data)] if data and index == expressions[0] else []
            node.nodes[index] = _point_filter(node.nodes[index], "_tagcast_output", *extra)
        if data and not expressions:
            emit = _point_filter(nodes.Const(data), "_tagcast_emit")
            return [nodes.ExprStmt(emit, lineno=node.lineno), node]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _point_filter(nodes.Tuple(node.nodes, "load", lineno=node.lineno), "_tagcast_concat")

    def visit_Getitem(self, node: nodes.Getitem) -> nodes.Node:
        self.generic_visit(node)
        if isinstance(node.arg, nodes.Slice) and node.ctx == "load":
            return _point_filter(node, "_tagcast_sliced")
        return node

    def visit_List(self, node: nodes.List) -> nodes.Node:
        self.generic_visit(node)
        return self._display(node, node.items)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        return self._display(node, node.items) if node.ctx == "load" else node

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        return self._display(node, [part for pair in node.items for part in (pair.key, pair.value)])

    @staticmethod
    def _display(node: nodes.Expr, parts: Sequence[nodes.Node]) -> nodes.Node:
        if all(isinstance(part, nodes.Const) for part in parts):
            return node
        return _point_filter(node, "_tagcast_built")


__all__ = ["MAX_ITEMS", "MAX_POWER_BITS", "BudgetedRange", "TemplateSandbox", "bounded_range"]
