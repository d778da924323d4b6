"""Articles and helpers shared by the render tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.models import Article, Hashtag
from scheduler.render import build_context

REPO = Path(__file__).resolve().parents[2]
WORKSPACE_TEMPLATES = REPO / "config" / "templates"

KHALKHIN_GOL_BODY = (
    "The Battles of Khalkhin Gol were a series of conflicts between Soviet and Japanese forces that took "
    "place in the late 1930s, primarily driven by Japan's expansionist ambitions in East Asia. The Soviet"
    " Union, under Joseph Stalin's leadership, recognized the growing threat posed by Japan and initiated"
    " a significant military build-up in response. This military expansion saw the Red Army more than "
    "double in size from early 1939 to mid-1941. The conflict at Khalkhin Gol is often seen as a "
    "precursor to the larger scale engagements that would follow."
)


def tags(*names: str) -> tuple[Hashtag, ...]:
    return tuple(Hashtag(name) for name in names)


def khalkhin_gol() -> Article:
    """The sample article of shared/samples/article-plain-text.txt, as the loader would produce it."""
    return Article(
        source="posts/khalkhin-gol.txt",
        title="Stalin's Role in Khalkhin Gol Battles",
        body=KHALKHIN_GOL_BODY,
        url="https://mooflife.com/moments/stalins-role-in-khalkhin-gol-battles?ref=tagcast&lang=en",
        hashtags=tags(
            "mooflife",
            "MomentOfLife",
            "Stalin",
            "KhalkhinGol",
            "SovietUnion",
            "JapaneseExpansionism",
            "MilitaryHistory",
        ),
        reference="Battles of Khalkhin Gol",
        explore="Joseph Stalin",
        published=datetime(2024, 5, 11, 9, 30, tzinfo=UTC),
    )


def example_articles() -> list[Article]:
    """Articles covering what templates meet: no link, no tags, tags in the body, other scripts, markup."""
    return [
        khalkhin_gol(),
        Article(source="posts/minimal.md", title="Minimal", body="Just a body."),
        Article(
            source="posts/tags-in-body.md",
            title="Tags in the body",
            body="How #Stalin shaped the #KhalkhinGol campaign.",
            url="https://example.org/a",
            hashtags=tags("Stalin", "KhalkhinGol", "MilitaryHistory", "WW2"),
            extra={"era": "1939", "series": "Moments"},
        ),
        Article(
            source="posts/nomonhan.md",
            title="ノモンハン事件",
            body="1939年、ハルハ河で日ソ両軍が衝突した。戦闘は九月に終わった。",
            url="https://ja.example.org/ノモンハン",
            hashtags=tags("ノモンハン事件", "Халхин_Гол", "歴史"),
            reference="Battles of Khalkhin Gol",
        ),
        Article(
            source="posts/markup.md",
            title="Less <than> & *more* _markup_ [x](y)",
            body="Prices: 3 < 4 & 5 > 2. Use `code`, #hash, {braces} | pipes ~ tildes.",
            url="https://example.org/?a=1&b=<2>",
            hashtags=tags("Markup", "Escaping"),
            explore="Explore (more) things!",
        ),
    ]


def context_for(
    article: Article,
    *,
    network: str = "mastodon",
    channel: str = "main",
    limit: int = 500,
    body: str | None = None,
) -> dict[str, Any]:
    return build_context(
        article,
        body=article.body if body is None else body,
        tags=article.hashtags,
        channel=channel,
        network=network,
        limit=limit,
    )
