"""The regular-expression reading of plain HTML gives exactly what the HTML parser gives, or steps aside."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.articles.htmltext import _plain_tags, _TextParser

PIECES = [
    "<p>", "</p>", "<P >", "</P>", "<br>", "<br/>", "<br />", "</br>", "<li>", "</li>", "<b>", "</b>",
    '<a href="https://x.example/?a=1&amp;b=2">', "<a href=x/>", "<a title='it > that'>", "</a>",
    "<div class=c>", "</div>", "<img alt=\"A\">", "<script>", "</script>", "<!-- c -->", "<!DOCTYPE html>",
    "<", ">", "< p>", "</ p>", "<p", "&amp;", "&lt;p&gt;", "&#233;", "&#x1F469;", "&copy", "&", "&bogus;",
    "text", " ", "\n", "\t", "\u00a0", "\x00", "\x01", "Битва", "👩\u200d👩\u200d👧", "a=b", '"', "'", "/",
]  # fmt: skip


def parsed(html: str) -> list[str]:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.out


@settings(max_examples=2000, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=14))
def test_plain_html_reads_as_the_parser_reads_it(pieces: list[str]) -> None:
    html = "".join(pieces)
    fast = _plain_tags(html)
    if fast is not None:
        assert "".join(fast) == "".join(parsed(html)), html


def test_plain_html_takes_the_fast_path_and_the_rest_does_not() -> None:
    assert _plain_tags('<p>Zhukov &amp; <a href="https://x.example/">the 6th</a></p>') == [
        "\x00", "Zhukov & ", "the 6th", "\x00",
    ]  # fmt: skip
    for html in ('<p><img alt="map"></p>', "<script>x</script>", "a <!-- c --> b", "1 < 2", "<p\u00a0>x"):
        assert _plain_tags(html) is None, html
