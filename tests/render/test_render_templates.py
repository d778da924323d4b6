from __future__ import annotations

import re

import pytest
from render_examples import WORKSPACE_TEMPLATES, context_for, example_articles, khalkhin_gol

from scheduler.hashtags import find_hashtags
from scheduler.models import Article
from scheduler.render import BUILTIN_TEMPLATES, FILTERS, TemplateRenderer, build_context
from scheduler.render.filters import escape_mrkdwn

NETWORK_TEMPLATES = {
    "mastodon": None,
    "bluesky": 3,
    "x": 3,
    "threads": 1,
    "linkedin": 5,
    "telegram": None,
    "discord": 3,
    "slack": 3,
    "file": None,
    "default": None,
}
ARTICLES = example_articles()
COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def written_tags(text: str) -> list[str]:
    return [match.tag for match in find_hashtags(text.rsplit("\n\n", maxsplit=1)[-1])]


@pytest.fixture(scope="module")
def workspace() -> TemplateRenderer:
    return TemplateRenderer(WORKSPACE_TEMPLATES)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.source)
@pytest.mark.parametrize("network", sorted(NETWORK_TEMPLATES))
def test_every_builtin_renders_every_example(
    workspace: TemplateRenderer, network: str, article: Article
) -> None:
    text = workspace.render(f"{network}.j2", context_for(article, network=network))
    assert text == text.strip()
    assert "\n\n\n" not in text
    assert "None" not in text
    slack = network == "slack"
    assert text.splitlines()[0] == (f"*{escape_mrkdwn(article.title)}*" if slack else article.title)
    if article.url:
        assert (escape_mrkdwn(article.url) if slack else article.url) in text
    limit = NETWORK_TEMPLATES[network]
    if limit is not None:
        assert len(written_tags(text)) <= limit


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.source)
@pytest.mark.parametrize("network", sorted(NETWORK_TEMPLATES))
def test_workspace_history_template_renders_every_example(
    workspace: TemplateRenderer, network: str, article: Article
) -> None:
    text = workspace.render("history.j2", context_for(article, network=network))
    assert text.startswith(article.title)
    assert ("Reference: " + article.reference in text) if article.reference else "Reference" not in text


def test_workspace_templates_pass_check(workspace: TemplateRenderer) -> None:
    for path in WORKSPACE_TEMPLATES.glob("*.j2"):
        workspace.check(path.name)


def test_history_template_uses_optional_front_matter(workspace: TemplateRenderer) -> None:
    article = ARTICLES[2]
    assert article.extra["era"] == "1939"
    text = workspace.render("history.j2", context_for(article))
    assert text.splitlines()[0] == "Tags in the body (1939)"


def test_history_readme_covers_every_variable_and_filter() -> None:
    source = (WORKSPACE_TEMPLATES / "history.j2").read_text(encoding="utf-8")
    readme = COMMENT.match(source.lstrip())
    assert readme is not None
    names = set(build_context(khalkhin_gol(), body="", tags=(), channel="c", network="n", limit=1))
    for name in sorted(names | set(FILTERS)):
        assert re.search(rf"\b{name}\b", readme.group(0)), name


def test_builtin_templates_write_tags_only_through_the_hashtags_filter() -> None:
    for path in sorted(BUILTIN_TEMPLATES.glob("*.j2")):
        code = COMMENT.sub("", path.read_text(encoding="utf-8"))
        for use in re.finditer(r"(?<!block )\btags\b", code):
            rest = code[use.start() :]
            assert re.match(r"tags \| hashtags\(", rest), f"{path.name}: {rest[:40]}"


def test_base_layout_skips_tags_already_in_the_body(builtin: TemplateRenderer) -> None:
    article = ARTICLES[2]
    text = builtin.render("base.j2", context_for(article))
    assert text == (
        "Tags in the body\n\nHow #Stalin shaped the #KhalkhinGol campaign.\n\n"
        "https://example.org/a\n\n#MilitaryHistory #WW2"
    )


def test_tags_in_a_shortened_body_come_back(builtin: TemplateRenderer) -> None:
    article = ARTICLES[2]
    text = builtin.render("x.j2", context_for(article, body="How #Stalin shaped…"))
    assert written_tags(text) == ["KhalkhinGol", "MilitaryHistory", "WW2"]


def test_the_body_given_is_the_body_shown(builtin: TemplateRenderer) -> None:
    article = khalkhin_gol()
    text = builtin.render("mastodon.j2", context_for(article, body="Shorter."))
    assert "\n\nShorter.\n\n" in text
    assert article.body not in text


def test_channel_tag_limit_applies(builtin: TemplateRenderer) -> None:
    article = khalkhin_gol()
    context = build_context(
        article, body=article.body, tags=article.hashtags[:2], channel="c", network="mastodon", limit=500
    )
    assert written_tags(builtin.render("mastodon.j2", context)) == ["mooflife", "MomentOfLife"]


def test_network_tag_counts_on_the_sample(builtin: TemplateRenderer) -> None:
    context = context_for(khalkhin_gol())
    counts = {name: len(written_tags(builtin.render(f"{name}.j2", context))) for name in NETWORK_TEMPLATES}
    assert counts == {
        "mastodon": 7,
        "bluesky": 3,
        "x": 3,
        "threads": 1,
        "linkedin": 5,
        "telegram": 7,
        "discord": 3,
        "slack": 3,
        "file": 7,
        "default": 7,
    }


def test_minimal_article_is_title_and_body(builtin: TemplateRenderer) -> None:
    for network in NETWORK_TEMPLATES:
        expected = "*Minimal*\n\nJust a body." if network == "slack" else "Minimal\n\nJust a body."
        assert builtin.render(f"{network}.j2", context_for(ARTICLES[1], network=network)) == expected


def test_slack_escapes_mrkdwn(builtin: TemplateRenderer) -> None:
    text = builtin.render("slack.j2", context_for(ARTICLES[4], network="slack"))
    assert text.splitlines()[0] == "*Less &lt;than&gt; &amp; *more* _markup_ [x](y)*"
    assert "3 &lt; 4 &amp; 5 &gt; 2" in text
    assert "https://example.org/?a=1&amp;b=&lt;2&gt;" in text
    assert "<" not in text and ">" not in text


def test_linkedin_and_telegram_templates_leave_escaping_to_the_adapter(builtin: TemplateRenderer) -> None:
    article = ARTICLES[4]
    for network in ("linkedin", "telegram"):
        text = builtin.render(f"{network}.j2", context_for(article, network=network))
        assert text.startswith(article.title + "\n\n" + article.body)
        assert "\\" not in text and "&amp;" not in text


def test_file_template_has_everything(builtin: TemplateRenderer) -> None:
    article = khalkhin_gol()
    text = builtin.render("file.j2", context_for(article, network="file"))
    assert text.split("\n\n") == [
        article.title,
        article.body,
        article.url,
        "Reference: Battles of Khalkhin Gol",
        "Explore the Life Moments of Joseph Stalin",
        " ".join(str(tag) for tag in article.hashtags),
    ]
