"""Route an article to channels by its hashtags.

Precedence, documented for users in docs/configuration.md:

1. If the article's front matter lists ``channels``, only those channels are considered.
2. Rules are tried by ``priority`` (higher first), then in file order. A rule matches when the article
   has ANY of its ``tags`` (or it lists none), ALL of its ``all`` tags and NONE of its ``none`` tags,
   case-insensitively and
   after aliases. A matching rule with ``stop = true`` ends the search.
3. Each channel takes its post from the FIRST matching rule that names it (its template and schedule win).
4. When no rule matched, the default rule sends the article to ``[defaults] channels``.
5. Template: article ``template`` > rule ``template`` > channel ``template`` > ``<network>.j2``
   > ``default.j2``.
   Schedule: rule ``schedule`` > channel ``schedule`` > ``[defaults] schedule``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from scheduler.config.models import ChannelSettings, RuleSettings
from scheduler.config.settings import Settings
from scheduler.hashtags import normalize_hashtags
from scheduler.models import Article

DEFAULT_RULE = "default"
ARTICLE_RULE = "article"


@dataclass(frozen=True, slots=True)
class Route:
    """One channel an article goes to, the rule that chose it, and the template/schedule names to use."""

    channel: str
    settings: ChannelSettings
    rule: str
    template: str | None
    schedule: str
    anniversary: bool = False


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    any_of: frozenset[str]
    all_of: frozenset[str]
    none_of: frozenset[str]
    channels: tuple[str, ...]
    template: str | None
    schedule: str | None
    stop: bool
    anniversary: bool = False

    def matches(self, keys: frozenset[str]) -> bool:
        return (
            (not self.any_of or not self.any_of.isdisjoint(keys))
            and self.all_of <= keys
            and self.none_of.isdisjoint(keys)
        )


class Router:
    """Rules compiled once per config; :meth:`route` is called once per article."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        aliases = settings.hashtags.aliases
        ordered = sorted(enumerate(settings.rules), key=lambda pair: (-pair[1].priority, pair[0]))
        self.rules = [self._compile(index, rule, aliases) for index, rule in ordered]

    @staticmethod
    def _compile(index: int, rule: RuleSettings, aliases: dict[str, str]) -> CompiledRule:
        def keys(tags: list[str]) -> frozenset[str]:
            return frozenset(tag.key for tag in normalize_hashtags(tags, aliases=aliases))

        return CompiledRule(
            name=rule.name or f"rule-{index + 1}",
            any_of=keys(rule.tags),
            all_of=keys(rule.all),
            none_of=keys(rule.none),
            channels=tuple(rule.channels),
            template=rule.template,
            schedule=rule.schedule,
            stop=rule.stop,
            anniversary=rule.anniversary,
        )

    def route(self, article: Article) -> list[Route]:
        """Every channel this article goes to, in a stable order (rule order, then channel order)."""
        allowed = set(article.channels) if article.channels is not None else None
        chosen: dict[str, Route] = {}
        keys = article.tag_keys
        matched_any = False
        for rule in self.rules:
            if not rule.matches(keys):
                continue
            matched_any = True
            for name in rule.channels:
                if name in chosen or (allowed is not None and name not in allowed):
                    continue
                route = self._route(article, name, rule.name, rule.template, rule.schedule)
                if route is not None:
                    chosen[name] = dataclasses.replace(route, anniversary=rule.anniversary)
            if rule.stop:
                break
        if allowed is not None:
            for name in article.channels or ():
                if name not in chosen:
                    route = self._route(article, name, ARTICLE_RULE, None, None)
                    if route is not None:
                        chosen[name] = route
        elif not matched_any:
            for name in self.settings.defaults.channels:
                route = self._route(article, name, DEFAULT_RULE, None, None)
                if route is not None:
                    chosen[name] = route
        return list(chosen.values())

    def _route(
        self, article: Article, name: str, rule: str, template: str | None, schedule: str | None
    ) -> Route | None:
        channel = self.settings.channels.get(name)
        if channel is None:
            return None
        return Route(
            channel=name,
            settings=channel,
            rule=rule,
            template=article.template or template or channel.template,
            schedule=schedule or channel.schedule or self.settings.defaults.schedule,
        )
