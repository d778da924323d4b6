"""The example articles shipped in posts/ all load."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scheduler.articles import load_articles

WORKSPACE = Path(__file__).resolve().parents[2]


def test_posts_folder_loads_without_errors() -> None:
    result = load_articles([WORKSPACE / "posts"], root=WORKSPACE)
    assert result.errors == []
    assert [article.source for article in result.articles] == [
        "posts/antikythera-mechanism.md",
        "posts/dunkirk-little-ships.txt",
        "posts/lindbergh-1927.md",
        "posts/nomonhan-1939.md",
        "posts/science-shorts.json#0",
        "posts/science-shorts.json#1",
    ]
    by_source = {article.source: article for article in result.articles}
    assert all(article.url and article.hashtags and article.body for article in result.articles)

    dunkirk = by_source["posts/dunkirk-little-ships.txt"]
    assert dunkirk.title == "The Little Ships That Crossed to Dunkirk"
    assert "logo" not in dunkirk.body and "min read" not in dunkirk.body and "#" not in dunkirk.body
    assert {"MilitaryHistory", "History"} <= {tag.text for tag in dunkirk.hashtags}
    assert dunkirk.reference and dunkirk.explore

    nomonhan = by_source["posts/nomonhan-1939.md"]
    assert {"khalkhingol", "ХалхинГол".casefold(), "ノモンハン事件"} <= nomonhan.tag_keys
    assert "#ХалхинГол" in nomonhan.body
    assert not nomonhan.body.endswith("#Zhukov")

    assert len(by_source["posts/antikythera-mechanism.md"].body) > 1500
    assert by_source["posts/antikythera-mechanism.md"].title.startswith("The Antikythera mechanism")

    lindbergh = by_source["posts/lindbergh-1927.md"]
    assert lindbergh.publish_at is not None and lindbergh.publish_at > datetime(2027, 1, 1, tzinfo=UTC)
    assert lindbergh.channels

    assert all(
        "Science" in {tag.text for tag in by_source[f"posts/science-shorts.json#{i}"].hashtags}
        for i in (0, 1)
    )
