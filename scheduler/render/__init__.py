"""Render stage: an article and a channel in, the post's text out, through a sandboxed Jinja2 template.

::

    renderer = TemplateRenderer(workspace / "config" / "templates")
    name = resolve_template_name(renderer, explicit=article.template, network="mastodon")
    context = build_context(article, body=article.body, tags=tags, channel="masto", network="mastodon",
                            limit=500)
    text = renderer.render(name, context)

Fitting renders again with a shorter ``body`` until the post fits; every failure is a
:class:`~scheduler.errors.TemplateError` naming the template file and line.
"""

from __future__ import annotations

from scheduler.render.context import build_context
from scheduler.render.environment import BUILTIN_TEMPLATES, TemplateRenderer, resolve_template_name
from scheduler.render.filters import FILTERS

__all__ = ["BUILTIN_TEMPLATES", "FILTERS", "TemplateRenderer", "build_context", "resolve_template_name"]
