"""The preview's anchors lead where each adapter class says (hashtag_url, mention_url, text_entities)."""

from __future__ import annotations

from scheduler.adapters.registry import known_networks, load_adapter
from scheduler.web.entities import segments

TEXT = "Hi @bob and @ann@m.social #History"


def hrefs(network: str, base_url: str | None = None) -> dict[str, str | None]:
    return {s.text: s.href for s in segments(TEXT, network, base_url) if s.kind != "text"}


def test_hashtags_and_mentions_lead_to_the_pages_the_adapter_declares() -> None:
    assert hrefs("x") == {
        "@bob": "https://x.com/bob",
        "#History": "https://x.com/hashtag/History",
    }
    assert hrefs("mastodon", "https://social.example/") == {
        "@bob": "https://social.example/@bob",
        "@ann@m.social": "https://m.social/@ann",
        "#History": "https://social.example/tags/History",
    }
    assert hrefs("telegram")["@bob"] == "https://t.me/bob"
    assert hrefs("threads")["#History"] == "https://www.threads.net/search?q=%23History"
    assert hrefs("linkedin") == {"#History": "https://www.linkedin.com/feed/hashtag/History"}
    assert hrefs("bluesky") == {"#History": "https://bsky.app/hashtag/History"}
    assert hrefs("discord") == {}  # '#word' and '@user' are plain text there


def test_a_network_without_pages_marks_hashtags_in_the_page_and_leaves_mentions_as_text() -> None:
    assert hrefs("file") == {"#History": "#tag-history"}
    assert hrefs("not-installed") == {"#History": "#tag-history"}  # the defaults of Adapter
    assert hrefs("mastodon")["#History"] == "#tag-history"  # no base_url: no instance to link to


def test_only_adapters_name_pages_and_every_template_is_an_http_page() -> None:
    for network in known_networks():
        adapter = load_adapter(network)
        for template in (adapter.hashtag_url, adapter.mention_url):
            if template is not None:
                filled = template.format(tag="t", user="u", server="https://s.example")
                assert filled.startswith("https://"), (network, template)
