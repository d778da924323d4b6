"""Whatever a template raises, as a :class:`~scheduler.errors.TemplateError` with file, line and a fix."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Collection, Sequence

from jinja2.exceptions import (
    SecurityError,
    TemplateAssertionError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
)

from scheduler.errors import TemplateError
from scheduler.render.budget import RenderBudgetExceeded, TooLarge
from scheduler.render.filters import FILTERS

_BUDGET_HINTS = {
    "time": "a loop runs too long (nested for loops, a big range()): loop over less; if the template truly "
    "needs longer, raise timeout in the [render] table of config/tagcast.toml",
    "output": "a loop or a repetition prints too much text: print less; if the post truly needs more, raise "
    "max_output in the [render] table of config/tagcast.toml",
    "text": "the template builds too much text along the way (a ~, + or filter inside a loop): build less",
}


def explain(
    exc: Exception,
    *,
    template: str,
    roots: Sequence[str],
    variables: Collection[str],
    templates: Callable[[], list[str]],
) -> TemplateError:
    """The :class:`TemplateError` for ``exc``, raised while loading or rendering ``template``.

    The file and line are those of the innermost template frame in the traceback (Jinja2 rewrites tracebacks
    so that these frames carry the template's file name and line), so an error in a parent template names the
    parent. ``roots`` are the template folders, ``variables`` the names the template was given, and
    ``templates`` lists the template names, for hints.
    """
    if isinstance(exc, TemplateSyntaxError):
        file = exc.filename or exc.name or template
        return TemplateError(file, exc.message or str(exc), line=exc.lineno, hint=_syntax_hint(exc))
    where = _innermost_template_line(exc, roots)
    if isinstance(exc, TemplateNotFound):
        available = "available templates: " + (", ".join(templates()) or "none")
        if where is None:
            return TemplateError(template, "no such template", hint=available)
        return TemplateError(where[0], f"template {exc.name!r} not found", line=where[1], hint=available)
    file, line = where or (template, None)
    names = ", ".join(sorted(variables)) or "none"
    if isinstance(exc, RenderBudgetExceeded):
        return TemplateError(file, str(exc), line=line, hint=_BUDGET_HINTS[exc.kind])
    if isinstance(exc, TooLarge):
        return TemplateError(
            file,
            f"refused by the sandbox: {exc}",
            line=line,
            hint="a post is a few thousand characters at most: use a smaller width, count or repetition",
        )
    if isinstance(exc, SecurityError):
        return TemplateError(
            file,
            f"refused by the sandbox: {exc}",
            line=line,
            hint="templates cannot reach names starting with '_' or Python internals, change values, "
            f"or build huge values; use the variables given: {names}",
        )
    if isinstance(exc, UndefinedError):
        return TemplateError(
            file,
            str(exc),
            line=line,
            hint=f"available variables: {names}; for an optional front-matter key write "
            "{% if key is defined %}...{% endif %} or {{ key | default('') }}",
        )
    return TemplateError(file, f"{type(exc).__name__}: {exc}", line=line)


def _syntax_hint(exc: TemplateSyntaxError) -> str | None:
    if isinstance(exc, TemplateAssertionError) and (exc.message or "").startswith("No filter named"):
        return f"tagcast's filters are {', '.join(sorted(FILTERS))}; Jinja2's built-in filters work too"
    return None


def _innermost_template_line(exc: BaseException, roots: Sequence[str]) -> tuple[str, int] | None:
    folders = tuple(os.path.join(os.path.normpath(root), "") for root in roots)
    found = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if os.path.normpath(filename).startswith(folders):
            found = (filename, line)
    return found
