"""Loading, checking and rendering templates: the workspace's own first, then tagcast's built-ins."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import regex
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateNotFound, nodes

from scheduler.errors import TemplateError
from scheduler.render.budget import Clock, RenderBudget, RenderCancelled, RenderLimits, charging
from scheduler.render.diagnostics import explain
from scheduler.render.filters import FILTERS
from scheduler.render.sandbox import TemplateSandbox

BUILTIN_TEMPLATES = Path(__file__).parent.parent / "defaults" / "templates"
"""The templates shipped with tagcast: ``base.j2``, ``default.j2`` and one per network."""

_BLANK_LINES = regex.compile(r"\n(?:[ \t]*\n){2,}")
_REFERENCES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


class TemplateRenderer:
    """Renders posts with Jinja2 templates, sandboxed.

    Templates are looked up in ``template_dir`` (the workspace's ``config/templates``) first, then among the
    built-ins (:data:`BUILTIN_TEMPLATES`), so a workspace template overrides a built-in of the same name and
    can ``{% extends "base.j2" %}``. Templates run in :class:`~scheduler.render.sandbox.TemplateSandbox`,
    output plain text (no autoescaping), fail on any undefined variable, print ``None`` as nothing, and
    have the filters of :mod:`scheduler.render.filters`. Every failure is a
    :class:`~scheduler.errors.TemplateError` naming the template file and line::

        renderer = TemplateRenderer(workspace / "config" / "templates")
        text = renderer.render("mastodon.j2", build_context(article, body=article.body, tags=tags,
                                                             channel="masto", network="mastodon", limit=500))
    """

    def __init__(
        self,
        template_dir: Path | None,
        *,
        limits: RenderLimits | None = None,
        clock: Clock = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        self.limits = limits or RenderLimits()
        self._clock = clock
        self._stop = stop
        folders = (template_dir, BUILTIN_TEMPLATES)
        self._roots = [os.fspath(folder) for folder in folders if folder is not None]
        self._loader = ChoiceLoader([FileSystemLoader(root) for root in self._roots])
        self._env = TemplateSandbox(
            loader=self._loader,
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # a renderer lives for one config; reloads build a new one
            finalize=_none_as_empty,
            extensions=["jinja2.ext.loopcontrols"],
        )
        self._env.filters.update(FILTERS)
        self._env.guard_filters()
        self._found: set[str] = set()

    def names(self) -> list[str]:
        """Every template name there is (``*.j2`` in the template folder and the built-ins), sorted."""
        return self._env.list_templates(extensions=["j2"])

    def exists(self, name: str) -> bool:
        """Whether a template called ``name`` can be loaded (without compiling it).

        A name found once is not looked up again: like the compiled templates (``auto_reload=False``), what
        this renderer has found stays found for its life.
        """
        if name in self._found:
            return True
        try:
            self._loader.get_source(self._env, name)
        except TemplateNotFound:
            return False
        self._found.add(name)
        return True

    def check(self, name: str) -> None:
        """Compile ``name`` and every template it names literally in extends, include or import.

        Raises :class:`~scheduler.errors.TemplateError` on a syntax error, an unknown filter, or a missing
        template; nothing is rendered, so undefined variables are found only by :meth:`render`.
        """
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            seen.add(current)
            for referenced, line in self._compile(current):
                if referenced in seen or referenced in pending:
                    continue
                if not self.exists(referenced):
                    raise TemplateError(
                        self._filename(current),
                        f"template {referenced!r} not found",
                        line=line,
                        hint="available templates: " + ", ".join(self.names()),
                    )
                pending.append(referenced)

    def article_deadline(self) -> float:
        """When the posts of an article that starts rendering now must all be rendered by
        (``render.article_timeout``), on this renderer's clock."""
        return self._clock() + self.limits.article_timeout

    def budget(self, *, article_deadline: float | None = None) -> RenderBudget:
        """A fresh budget for one post (every render fitting needs), starting now."""
        return RenderBudget(
            self.limits, clock=self._clock, stop=self._stop, article_deadline=article_deadline
        )

    def render(self, name: str, context: Mapping[str, Any], *, budget: RenderBudget | None = None) -> str:
        """``name`` rendered with ``context``, stripped, with runs of blank lines collapsed to one.

        The render is charged to ``budget`` (a fresh one when None): out of time, output or text, it is a
        :class:`~scheduler.errors.TemplateError` saying so; stopped from outside, :class:`RenderCancelled`.
        """
        variables = dict(context)
        budget = budget or self.budget()
        budget.begin(_text_size(variables))
        try:
            with charging(budget):
                text = self._env.get_template(name).render(variables)
        except RenderCancelled:
            raise
        except Exception as exc:
            raise self._explain(exc, name, variables) from exc
        return _BLANK_LINES.sub("\n\n", text).strip()

    def _compile(self, name: str) -> Iterator[tuple[str, int]]:
        try:
            self._env.get_template(name)
            source, filename, _ = self._loader.get_source(self._env, name)
            tree = self._env.parse(source, name, filename)
        except Exception as exc:
            raise self._explain(exc, name, {}) from exc
        for node in tree.find_all(_REFERENCES):
            target = getattr(node, "template", None)
            ignored = isinstance(node, nodes.Include) and node.ignore_missing
            if isinstance(target, nodes.Const) and isinstance(target.value, str) and not ignored:
                yield target.value, node.lineno

    def _filename(self, name: str) -> str:
        _, filename, _ = self._loader.get_source(self._env, name)
        return filename or name

    def _explain(self, exc: Exception, name: str, variables: Mapping[str, Any]) -> TemplateError:
        return explain(exc, template=name, roots=self._roots, variables=variables, templates=self.names)


def _text_size(variables: Mapping[str, Any]) -> int:
    """Characters in the strings a template is given (its own and ``extra``'s): the article's text."""
    extra = variables.get("extra")
    values = [*variables.values(), *(extra.values() if isinstance(extra, Mapping) else ())]
    return sum(len(value) for value in values if isinstance(value, str))


def resolve_template_name(renderer: TemplateRenderer, *, explicit: str | None, network: str) -> str:
    """The template to render with: ``explicit`` (an article's, rule's or channel's), else ``<network>.j2``,
    else ``default.j2``.

    An explicit template that does not exist is a :class:`~scheduler.errors.TemplateError` listing the
    templates there are.
    """
    if explicit:
        if not renderer.exists(explicit):
            available = "available templates: " + ", ".join(renderer.names())
            raise TemplateError(explicit, "no such template", hint=available)
        return explicit
    candidate = f"{network}.j2"
    return candidate if renderer.exists(candidate) else "default.j2"
