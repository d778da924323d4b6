"""The page renderer: Jinja2 with autoescape on, templates and the style sheet shipped in ``templates/``.

Every page carries its style sheet inline and a Content-Security-Policy that allows that one sheet (by its
hash) and ``data:`` images, and nothing else: no script, no font, no request to anywhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@functools.cache
def environment() -> Environment:
    """The one (normal, not sandboxed: the templates are ours) environment, escaping every value."""
    return Environment(
        loader=PackageLoader("scheduler.web", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@functools.cache
def style_sheet() -> str:
    loader = environment().loader
    assert loader is not None
    source, _, _ = loader.get_source(environment(), "style.css")
    return source


@functools.cache
def content_security_policy(*, forms: bool = False) -> str:
    """Only the inline style sheet and ``data:`` images; ``forms``: forms may post to the page's origin."""
    digest = base64.b64encode(hashlib.sha256(style_sheet().encode("utf-8")).digest()).decode("ascii")
    policy = [
        "default-src 'none'",
        f"style-src 'sha256-{digest}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'self'" if forms else "form-action 'none'",
    ]
    if forms:
        policy.append("frame-ancestors 'none'")
    return "; ".join(policy)


def render(template: str, **context: Any) -> str:
    """``template`` rendered with ``context``, the style sheet and the policy for a page (``csp_meta``: put
    the policy in a ``<meta>`` tag, for a file opened without a server)."""
    context.setdefault("csp_meta", None)
    context.setdefault("nav", None)
    return environment().get_template(template).render(css=Markup(style_sheet()), **context)
