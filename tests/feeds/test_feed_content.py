"""An entry's body is its summary, else its full content as plain text: never the 512-character summary that
the parser makes up for an entry that has only content (RSS ``content:encoded``, Atom ``<content>``, JSON
Feed ``content_text``). Polled from a real feed server on loopback, the queued post is asserted on."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.articles.feed import load_feed, text_start
from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import poll_source
from scheduler.pipeline import Pipeline
from scheduler.store import Store
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import WRITERS, FeedEntry, FeedServer
from tests.feeds.hooked import hook_workspace

PARAGRAPHS = [
    f"Paragraph {number}: on 20 August 1939 Zhukov&#8217;s <b>offensive</b> began &amp; encircled the "
    f"6th Army; Битва на Халхин-Голе <i>ended</i> on 16 September."
    for number in range(1, 9)
]
CONTENT = "".join(f"<p>{text}</p>" for text in PARAGRAPHS) + "<script>alert(1)</script><p>The end.</p>"
TEXT = "\n\n".join(
    f"Paragraph {number}: on 20 August 1939 Zhukov’s offensive began & encircled the 6th Army; "
    f"Битва на Халхин-Голе ended on 16 September."
    for number in range(1, 9)
)
TEXT += "\n\nThe end."


def entry(number: int, *, summary: str = "") -> FeedEntry:
    return FeedEntry(
        guid=f"urn:moment:{number}",
        title=f"Moment {number}",
        link=f"https://history.example/moments/{number}",
        summary=summary,
        content=CONTENT,
        categories=("History",),
        updated=datetime(2026, 12, number, 9, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("kind", ["rss2", "rss1", "atom", "jsonfeed"])
def test_an_entry_with_only_content_is_posted_with_all_of_it_as_text(
    server: FeedServer, make_workspace: WriteWorkspace, kind: str
) -> None:
    assert len(TEXT) > 1000  # well past the 512 characters of the made-up summary
    server.publish(WRITERS[kind]([entry(2), entry(1, summary="<p>Only the <b>summary</b> &amp; this.</p>")]))
    root = hook_workspace(make_workspace, server, backfill=5)
    workspace = load_workspace(root / "config" / "tagcast.toml")
    with Store.open(workspace.settings.store.url, root=root) as store, httpx.Client() as client:
        polled = poll_source(
            "history",
            workspace,
            store,
            Pipeline(workspace),
            client,
            now=datetime(2026, 12, 6, 8, 0, tzinfo=UTC),
        )
        assert polled.error is None and polled.new_entries == 2
        queued = {delivery.source: delivery for delivery in store.list(limit=10)}
    assert sorted(queued) == ["sources/history#urn:moment:1", "sources/history#urn:moment:2"]

    only_content = queued["sources/history#urn:moment:2"]
    assert only_content.article["body"] == TEXT
    (text,) = only_content.parts
    assert TEXT in text and "<p>" not in text and "&amp;" not in text and "alert" not in text

    # an entry with a summary of its own keeps it as its body: the summary, not the content
    with_summary = queued["sources/history#urn:moment:1"]
    assert with_summary.article["body"] == "Only the summary & this."
    assert "Paragraph 1" not in with_summary.parts[0]


def test_a_json_feed_item_with_only_content_text_keeps_all_of_it() -> None:
    text = "\n".join(f"Line {number}: 1 < 2 & <b> is not a tag here." for number in range(40))
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "History shorts",
        "items": [{"id": "urn:moment:1", "title": "Moment 1", "content_text": text}],
    }
    articles, errors = load_feed(json.dumps(document).encode(), source="feed.json")
    assert errors == []
    (article,) = articles
    assert len(text) > 512 and article.body == text


PIECES = ["<p>", "</p>", "<b>", "</b>", "<br/>", "&amp;", "&#8217;", "&lt;", " ", "  ", "\n", "\t", "\u00a0"]
PIECES += ["Zhukov", "Битва", "👩\u200d👩\u200d👧", "x" * 90, "&", "<", ">"]


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=120))
def test_the_rule_kept_for_a_later_parser_is_the_parsers_own_today(pieces: list[str]) -> None:
    """``text_start`` (used if fastfeedparser drops its private function) makes the same summary as it."""
    from fastfeedparser.main import _synthesize_entry_description  # type: ignore[import-untyped]

    value = "".join(pieces)
    made: dict[str, object] = {"content": [{"type": "text/html", "value": value}]}
    _synthesize_entry_description(made)
    assert text_start(value) == str(made["description"]).strip()
