"""Render and fit: an article and a route become a Post with the exact parts that will be sent."""

from __future__ import annotations

from scheduler.errors import TemplateError
from scheduler.hashtags import limit_hashtags
from scheduler.length import LengthRules
from scheduler.length.fit import Fitted, fit
from scheduler.models import Article, Post
from scheduler.render import TemplateRenderer, build_context, resolve_template_name
from scheduler.render.budget import RenderBudget
from scheduler.routing import Route


def compose_post(
    article: Article,
    route: Route,
    renderer: TemplateRenderer,
    rules: LengthRules,
    *,
    budget: RenderBudget | None = None,
    max_parts: int | None = None,
) -> Post:
    """Render ``article`` with the route's template and fit it to the network; problems go into the Post.

    Every render fitting needs is charged to ``budget`` (a fresh one for this post when None): a template
    that runs out of it is a problem of this post. A network that takes at most ``max_parts`` parts (LinkedIn
    and Facebook: 1) makes a post that needs more a problem, here rather than when it is sent.
    """
    budget = budget or renderer.budget()
    network = route.settings.network
    tags = list(limit_hashtags(article.hashtags, route.settings.max_hashtags))
    template = route.template or ""
    first_limit = rules.for_part(0).limit
    problems: tuple[str, ...] = ()
    fitted = Fitted([], [], [], False)
    try:
        template = resolve_template_name(renderer, explicit=route.template, network=network)

        def render(body: str) -> str:
            context = build_context(
                article, body=body, tags=tags, channel=route.channel, network=network, limit=first_limit
            )
            return renderer.render(template, context, budget=budget)

        fitted = fit(
            render, article.body, rules, thread=route.settings.thread, max_parts=route.settings.max_parts
        )
        problems = tuple(fitted.problems)
    except TemplateError as exc:
        problems = (str(exc),)
    if max_parts is not None and len(fitted.parts) > max_parts:
        problems += (_too_many_parts(route.channel, network, len(fitted.parts), max_parts, rules),)
    return Post(
        article=article,
        channel=route.channel,
        network=network,
        rule=route.rule,
        template=template,
        parts=tuple(fitted.parts),
        lengths=tuple(fitted.lengths),
        limit=rules.limit,
        first_limit=rules.first_limit,
        unit=rules.unit,
        problems=problems,
        shortened=fitted.shortened,
        active=route.settings.enabled,
        schedule=route.schedule,
    )


def _too_many_parts(channel: str, network: str, parts: int, most: int, rules: LengthRules) -> str:
    takes = "one part only" if most == 1 else f"at most {most} parts"
    return (
        f"channel {channel}: {network} posts {takes}, and this post needs {parts} parts of at most "
        f"{rules.describe(rules.limit)}; shorten the article, set channels.{channel}.thread = false (the "
        "text is then shortened to fit), or give the rule a template that fits in one part"
    )
