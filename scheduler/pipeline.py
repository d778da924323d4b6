"""The one pipeline: load -> route -> render -> fit -> plan. Preview stops here; the service stores the
result.

``tagcast preview``, ``tagcast check`` and the service call these same functions, so what is previewed is
exactly what is posted.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scheduler.adapters.base import Adapter
from scheduler.adapters.registry import known_networks, load_adapter
from scheduler.articles import load_articles
from scheduler.checks import raise_for_problems, reference_problems
from scheduler.compose import compose_post
from scheduler.config.loader import Workspace
from scheduler.config.models import ChannelSettings
from scheduler.errors import ArticleError, ConfigError, UserError
from scheduler.length import LengthRules
from scheduler.media.model import MediaLimits
from scheduler.media.prepare import MediaCache, prepare_media
from scheduler.models import Article, Post
from scheduler.planning import build_schedules, plan_posts
from scheduler.render import TemplateRenderer
from scheduler.render.budget import Clock, RenderBudget, RenderLimits
from scheduler.routing import Route, Router
from scheduler.slots import Schedule
from scheduler.slots.anniversary import plan_anniversary


def rules_with_media(adapter: type[Adapter], channel: ChannelSettings) -> LengthRules:
    """The length rules of a post with images; an adapter whose ``length_rules`` predates the ``media``
    keyword (a third-party one) counts such a post as any other."""
    if "media" in inspect.signature(adapter.length_rules).parameters:
        return adapter.length_rules(channel, media=True)
    return adapter.length_rules(channel)


@dataclass
class PipelineResult:
    """Posts in a stable order (article, then channel) and the articles that could not be read."""

    posts: list[Post] = field(default_factory=list)
    errors: list[ArticleError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What a person should know but that stops nothing (a link card's page that cannot be read)."""

    @property
    def ok(self) -> bool:
        return not self.errors and all(post.valid for post in self.posts)


CardStep = Callable[[list[Post]], tuple[list[Post], list[str]]]
"""Fills the link cards of planned posts (:class:`scheduler.media.cards.PreviewCards`): the posts, and
warnings."""


class Pipeline:
    """The stages, built once from a workspace (config validated, templates and adapters looked up).

    Rendering reads time from ``render_clock``; setting ``stop`` ends a render in progress (the service,
    shutting down) with :class:`~scheduler.render.budget.RenderCancelled`. ``cards`` (preview) fills each
    post's link card after planning; without it posts have none (the service makes them when it sends).
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        render_clock: Clock = time.monotonic,
        stop: threading.Event | None = None,
        cards: CardStep | None = None,
    ) -> None:
        self.workspace = workspace
        self.cards = cards
        settings = workspace.settings
        limits = RenderLimits(
            timeout=settings.render.timeout.total_seconds(),
            article_timeout=settings.render.article_timeout.total_seconds(),
            max_output=settings.render.max_output,
        )
        self.renderer = TemplateRenderer(
            workspace.path(settings.defaults.templates), limits=limits, clock=render_clock, stop=stop
        )
        raise_for_problems(
            reference_problems(
                settings, known_networks=known_networks(), template_exists=self.renderer.exists
            ),
            workspace.display_config,
        )
        self.router = Router(settings)
        try:
            self.timezone = ZoneInfo(settings.defaults.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"defaults.timezone: unknown time zone {settings.defaults.timezone!r}",
                hint="write an IANA name such as Europe/Berlin or UTC",
            ) from None
        self.schedules: dict[str, Schedule] = build_schedules(settings)
        self.rules: dict[str, LengthRules] = {}
        self.media_rules: dict[str, LengthRules] = {}
        """The rules of a post that carries images (Telegram: the caption limit)."""
        self.media_limits: dict[str, MediaLimits | None] = {}
        self.max_parts: dict[str, int | None] = {}
        """The most parts each channel's network takes in one post (:attr:`Adapter.max_parts`)."""
        for name, channel in settings.channels.items():
            try:
                adapter = load_adapter(channel.network)
                self.rules[name] = adapter.length_rules(channel)
                self.media_rules[name] = rules_with_media(adapter, channel)
                self.media_limits[name] = adapter.channel_media_limits(channel)
            except UserError as exc:
                raise ConfigError(f"channels.{name}: {exc}") from exc
            self.max_parts[name] = adapter.max_parts
        self.media = MediaCache.for_workspace(workspace, keep_decoded=True)

    def article_paths(self, paths: Sequence[Path] | None) -> list[Path]:
        if paths:
            return list(paths)
        return [self.workspace.path(self.workspace.settings.defaults.posts)]

    def load(
        self, paths: Sequence[Path] | None = None, *, now: datetime | None = None
    ) -> tuple[list[Article], list[ArticleError]]:
        """The articles in ``paths`` (default: the posts folder) and their problems; ``publish_at: now`` is
        ``now`` (default: the clock)."""
        hashtags = self.workspace.settings.hashtags
        result = load_articles(
            self.article_paths(paths),
            root=self.workspace.root,
            aliases=hashtags.aliases,
            blocklist=hashtags.blocklist,
            timezone=self.timezone,
            now=now,
            channels=frozenset(self.workspace.settings.channels),
        )
        return result.articles, result.errors

    def compose(
        self, article: Article, channels: Collection[str] | None = None, *, now: datetime | None = None
    ) -> list[Post]:
        """Route, render and fit one article: a post for every channel it goes to, naming its schedule.

        ``now`` (default: the current time) places the posts of an anniversary rule
        (:mod:`scheduler.slots.anniversary`)."""
        out = []
        deadline = self.renderer.article_deadline()
        for route in self.router.route(article):
            if channels is not None and route.channel not in channels:
                continue
            budget = self.renderer.budget(article_deadline=deadline)
            routed, problem = article, None
            if route.anniversary:
                when = now or datetime.now(UTC)
                routed, problem = plan_anniversary(article, self.schedules[route.schedule], when)
            post = self.compose_route(routed, route, budget=budget)
            out.append(post.with_problems(problem) if problem is not None else post)
        return out

    def compose_route(self, article: Article, route: Route, *, budget: RenderBudget | None = None) -> Post:
        """Render and fit ``article`` for one ``route``, by the rules of the route's channel (those of a post
        with images when it has some), with the article's images fitted to the channel's network."""
        channel = route.channel
        rules = (self.media_rules if article.images else self.rules)[channel]
        post = compose_post(
            article, route, self.renderer, rules, budget=budget, max_parts=self.max_parts[channel]
        )
        return self._with_media(post, article)

    def _with_media(self, post: Post, article: Article) -> Post:
        """``post`` with the article's images fitted to its channel's network (:mod:`scheduler.media`)."""
        if not article.images:
            return post
        settings = self.workspace.settings.channels[post.channel]
        prepared = prepare_media(
            article, self.media_limits[post.channel], settings, channel=post.channel, cache=self.media
        )
        post = dataclasses.replace(post, media=prepared.media, left_out=prepared.left_out)
        return post.with_problems(*prepared.problems)

    def run(
        self,
        paths: Sequence[Path] | None = None,
        *,
        channels: Collection[str] | None = None,
        now: datetime | None = None,
        taken: Mapping[str, Iterable[datetime]] | None = None,
    ) -> PipelineResult:
        """Everything up to planning: what preview shows and what the service would store."""
        if channels is not None:
            unknown = sorted(set(channels) - set(self.workspace.settings.channels))
            if unknown:
                raise UserError(
                    f"no channel named {', '.join(unknown)}",
                    hint=f"configured channels: {', '.join(sorted(self.workspace.settings.channels))}",
                )
        articles, errors = self.load(paths, now=now)
        posts = [post for article in articles for post in self.compose(article, channels, now=now)]
        posts = plan_posts(posts, self.schedules, now=now, taken=taken)
        warnings: list[str] = []
        if self.cards is not None:
            posts, warnings = self.cards(posts)
        return PipelineResult(posts=posts, errors=errors, warnings=warnings)
