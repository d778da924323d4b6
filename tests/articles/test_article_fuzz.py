"""Hypothesis: any value of any key, in front matter or JSON, is loaded or reported; nothing else happens.

Each example writes one hostile article beside a good one: every known key and some random extra keys get
arbitrary values (YAML/JSON data, or raw text that YAML or JSON reads in surprising ways). Loading must not
raise, must report problems only as ArticleErrors naming the hostile file, and must still load the good
article. What does load goes on through the whole pipeline (route, render with a template that prints every
extra value, fit, plan) and the store's JSON form, which must not raise either.
"""

from __future__ import annotations

import json
import tempfile
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.articles import load_articles
from scheduler.articles.fields import KNOWN_KEYS
from scheduler.config import load_workspace
from scheduler.errors import ArticleError
from scheduler.models import Article
from scheduler.pipeline import Pipeline
from scheduler.render import TemplateRenderer, build_context
from scheduler.store.models import article_to_json

NOW = datetime(2027, 1, 4, 12, tzinfo=UTC)
GOOD = "---\ntitle: Good one\ntags: [Science]\npublish_at: 2027-01-05T09:00:00Z\n---\nText.\n"

RAW_SCALARS = [
    "2024-02-30",
    "2020-13-45T00:00:00Z",
    "2027-01-01T00:00:00+25:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "0000-01-01",
    "2027-01-01 10:00:00.999999999 -5",
    "now",
    "NOW",
    "9" * 5000,
    "-" + "9" * 30,
    "0x" + "f" * 40,
    "1:" * 600 + "0",
    ".nan",
    "-.inf",
    "&a [*a]",
    "!!binary aGVsbG8=",
    "!!binary ???",
    "!!set {a, b}",
    "!!omap [a: 1]",
    "!!timestamp nope",
    "!!int nope",
    "!!float nope",
    "!!bool maybe",
    "!!null x",
    "!!seq x",
    "!!map x",
    "!!pairs x",
    "!!python/object:os.system x",
    "!<tag:yaml.org,2002:timestamp> 2024-02-30",
    "!!str 2024-02-30",
    "[" * 60 + "]" * 60,
    "{a: {b: {c: {d: [1, 2, {e: f}]}}}}",
    "{? [a]: b}",
    "[2024-02-30]",
    "{x: 2024-02-29}",
    "~",
    "''",
    "'#not a comment'",
    "#a comment",
    "https://example.org/" + "a" * 100,
    "http://",
    "[a, b, mastodonn]",
    "[file]",
    "'a, b'",
    "'#' ",
    '"\\u0000"',
    "*undefined",
]
RAW_JSON = [
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 30,
    "[" * 50 + "]" * 50,
    '"2024-02-30"',
    '"9999-12-31T23:59:59-23:59"',
    '"2027-01-01T00:00:00+25:00"',
    '"now"',
    "null",
    "{}",
    '{"a": [1, {"b": null}]}',
    '"\\ud800"',
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.dates(),
    st.datetimes(timezones=st.none() | st.timezones()),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
extra_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-ABCT", min_size=1, max_size=12)
keys = st.lists(st.sampled_from(sorted(KNOWN_KEYS)) | extra_keys, min_size=1, max_size=8, unique=True)


def yaml_value(data: st.DataObject) -> str:
    if data.draw(st.booleans()):
        return data.draw(st.sampled_from(RAW_SCALARS))
    value = data.draw(values)
    try:
        return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()
    except (yaml.YAMLError, ValueError, OverflowError):
        return "null"


def json_value(data: st.DataObject) -> str:
    if data.draw(st.booleans()):
        return data.draw(st.sampled_from(RAW_JSON))
    value = data.draw(values)
    return json.dumps(value, default=str)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def load_with_sibling(base: Path, name: str, text: str) -> tuple[Path, list[Article], list[ArticleError]]:
    root = Path(tempfile.mkdtemp(dir=base))
    (root / "posts").mkdir()
    (root / "posts" / "good.md").write_text(GOOD, encoding="utf-8")
    (root / "posts" / name).write_text(text, encoding="utf-8", errors="surrogatepass")
    result = load_articles([root / "posts"], root=root, now=NOW, channels={"file", "bsky"})
    return root, result.articles, result.errors


def check(name: str, articles: list[Article], errors: list[ArticleError]) -> None:
    assert "posts/good.md" in [article.source for article in articles]
    for error in errors:
        assert isinstance(error, ArticleError)
        assert error.source == f"posts/{name}", error
        assert error.hint, error


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.data(), keys)
def test_any_front_matter_value_is_loaded_or_reported(
    base: Path, data: st.DataObject, names: list[str]
) -> None:
    lines = [f"{key}: {yaml_value(data)}" for key in names]
    body = data.draw(st.sampled_from(["Text.", "", "# Heading\n\nText #Tag", "*a* [b](http://c) `d`\n#e #f"]))
    _, articles, errors = load_with_sibling(
        base, "bad.md", "---\n" + "\n".join(lines) + "\n---\n" + body + "\n"
    )
    check("bad.md", articles, errors)
    for article in articles:
        json.dumps(article_to_json(article), allow_nan=False, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(st.data(), keys, st.integers(min_value=1, max_value=3))
def test_any_json_value_is_loaded_or_reported(
    base: Path, data: st.DataObject, names: list[str], count: int
) -> None:
    items = []
    for _ in range(count):
        pairs = [f"{json.dumps(key)}: {json_value(data)}" for key in names]
        items.append("{" + ", ".join(['"body": "Text."', *pairs]) + "}")
    _, articles, errors = load_with_sibling(base, "bad.json", "[\n" + ",\n".join(items) + "\n]\n")
    check("bad.json", articles, errors)
    for article in articles:
        json.dumps(article_to_json(article), allow_nan=False, ensure_ascii=False).encode("utf-8")


CONFIG = """\
[defaults]
channels = ["file", "bsky"]
timezone = "Europe/Berlin"

[channels.file]
network = "file"
template = "extras.j2"

[channels.bsky]
network = "bluesky"
template = "extras.j2"
thread = true
"""
EXTRAS = """\
{{ title }} {{ body }}
{% for key, value in extra.items() %}{{ key }}={{ value }} {{ value | string | length }}
{% endfor %}{{ tags | join(' ') }}
"""


def test_odd_extra_values_go_through_the_whole_pipeline(tmp_path: Path) -> None:
    root = tmp_path
    (root / "config" / "templates").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(CONFIG, encoding="utf-8")
    (root / "config" / "templates" / "extras.j2").write_text(EXTRAS, encoding="utf-8")
    odd = textwrap.dedent(
        """\
        ---
        title: Odd
        publish_at: now
        updated: 2024-02-29
        when: 2027-01-01T10:00:00+05:30
        naive: 2027-01-01 10:00:00
        big: 999999999999999999
        ratio: 1.5e300
        nested: {a: [1, {b: [2, 3]}], c: null}
        keys: {1: one, 2024-01-01: date, null: none}
        empty: ""
        unicode: "\\u202e\\u0007 #tag"
        ---
        Body with **bold** and #Tag.
        """
    )
    (root / "posts" / "odd.md").write_text(odd, encoding="utf-8")
    result = Pipeline(load_workspace(root)).run(now=NOW)

    assert result.errors == []
    assert {post.channel for post in result.posts} == {"file", "bsky"}
    for post in result.posts:
        stored = article_to_json(post.article)
        assert stored["publish_at"] == NOW.isoformat()
        assert "updated=2024-02-29" in "".join(post.parts)
        assert "keys={'1': 'one', '2024-01-01': 'date', 'None': 'none'}" in "".join(post.parts)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(extra_keys, values, max_size=5))
def test_any_extra_values_that_load_can_be_stored(base: Path, extra: dict[str, Any]) -> None:
    text = "---\n" + yaml.safe_dump({"title": "T", **extra}, width=10**9) + "---\nText.\n"
    _, articles, errors = load_with_sibling(base, "x.md", text)
    check("x.md", articles, errors)
    for article in articles:
        json.dumps(article_to_json(article), allow_nan=False, ensure_ascii=False).encode("utf-8")


def test_dates_that_exist_stay_dates_for_templates(base: Path) -> None:
    _, articles, errors = load_with_sibling(base, "d.md", "---\ntitle: T\nupdated: 2024-02-29\n---\n")
    assert errors == []
    [article] = [article for article in articles if article.source == "posts/d.md"]
    assert article.extra["updated"] == date(2024, 2, 29)


@pytest.fixture(scope="module")
def extras_renderer(tmp_path_factory: pytest.TempPathFactory) -> TemplateRenderer:
    folder = tmp_path_factory.mktemp("templates")
    (folder / "extras.j2").write_text(EXTRAS, encoding="utf-8")
    return TemplateRenderer(folder)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(extra_keys, values, max_size=5))
def test_any_extra_values_that_load_can_be_rendered(
    base: Path, extras_renderer: TemplateRenderer, extra: dict[str, Any]
) -> None:
    text = "---\n" + yaml.safe_dump({"title": "T", **extra}, width=10**9) + "---\nText.\n"
    _, articles, errors = load_with_sibling(base, "r.md", text)
    check("r.md", articles, errors)
    for article in articles:
        context = build_context(
            article, body=article.body, tags=article.hashtags, channel="c", network="x", limit=9
        )
        rendered = extras_renderer.render("extras.j2", context)
        assert rendered.startswith(article.title)
        for key in article.extra:
            assert f"{key}=" in rendered
