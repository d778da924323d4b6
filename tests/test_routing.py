from __future__ import annotations

import tomllib

from scheduler.config.settings import build_settings
from scheduler.hashtags import normalize_hashtags
from scheduler.models import Article
from scheduler.routing import Router

CONFIG = """
[defaults]
channels = ["file"]

[hashtags]
aliases = { ww2 = "WorldWarII" }

[channels.file]
network = "file"
[channels.masto]
network = "mastodon"
template = "masto-channel.j2"
[channels.bsky]
network = "bluesky"
schedule = "own"
[channels.x]
network = "x"
enabled = false

[schedules.own]
slots = ["daily 10:00"]

[[rules]]
name = "history"
tags = ["MilitaryHistory", "WorldWarII"]
none = ["Draft"]
channels = ["masto", "bsky"]
template = "history.j2"

[[rules]]
name = "asia"
all = ["KhalkhinGol", "Japan"]
channels = ["x", "masto"]
schedule = "own"

[[rules]]
name = "urgent"
tags = ["Breaking"]
priority = 10
stop = true
channels = ["x"]
"""


def router() -> Router:
    return Router(build_settings(tomllib.loads(CONFIG), None))


def article(*tags: str, **kwargs: object) -> Article:
    tags_as_loaded = normalize_hashtags(tags, aliases={"ww2": "WorldWarII"})
    return Article(source="posts/a.md", title="T", body="B", hashtags=tags_as_loaded, **kwargs)  # type: ignore[arg-type]


def test_any_of_matches_case_insensitively_and_through_aliases() -> None:
    routes = router().route(article("#ww2"))
    assert [(r.channel, r.rule) for r in routes] == [("masto", "history"), ("bsky", "history")]
    assert routes[0].template == "history.j2"
    assert routes[1].schedule == "own", "the channel's schedule applies when the rule names none"
    assert routes[0].schedule == "default"


def test_none_of_excludes() -> None:
    assert [r.rule for r in router().route(article("MilitaryHistory", "draft"))] == ["default"]


def test_all_of_needs_every_tag_and_first_rule_wins_per_channel() -> None:
    assert [r.channel for r in router().route(article("KhalkhinGol"))] == ["file"]
    routes = router().route(article("khalkhingol", "JAPAN", "MilitaryHistory"))
    assert [(r.channel, r.rule) for r in routes] == [("masto", "history"), ("bsky", "history"), ("x", "asia")]
    assert routes[2].schedule == "own"


def test_priority_first_and_stop_ends_the_search() -> None:
    routes = router().route(article("Breaking", "MilitaryHistory"))
    assert [(r.channel, r.rule) for r in routes] == [("x", "urgent")]


def test_default_rule_catches_the_rest() -> None:
    routes = router().route(article("Cooking"))
    assert [(r.channel, r.rule, r.schedule) for r in routes] == [("file", "default", "default")]


def test_article_channels_restrict_and_add() -> None:
    routes = router().route(article("MilitaryHistory", channels=("bsky", "file")))
    assert [(r.channel, r.rule) for r in routes] == [("bsky", "history"), ("file", "article")]


def test_template_precedence_article_over_rule_over_channel() -> None:
    assert router().route(article("WorldWarII", template="mine.j2"))[0].template == "mine.j2"
    assert router().route(article("WorldWarII"))[0].template == "history.j2"
    routes = router().route(article("KhalkhinGol", "Japan"))
    assert [(r.channel, r.template) for r in routes] == [("x", None), ("masto", "masto-channel.j2")]


def test_disabled_channels_are_routed_but_flagged() -> None:
    routes = router().route(article("Breaking"))
    assert routes[0].channel == "x"
    assert routes[0].settings.enabled is False
