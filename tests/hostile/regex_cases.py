"""Hostile inputs for every function that runs a regex over text a user or a server wrote, shared by
``tests/hostile/test_regex_linear.py`` (a generous timeout) and ``bench/regexes.py`` (the 10k/100k ratio).

Each input is a long repetition of the characters that make a backtracking regex go quadratic: runs of
punctuation or spaces that end in something a pattern does not expect, unclosed ``<``/``[``, URL pieces, etc.
"""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from scheduler.adapters.mastodon import _comparable, status_text
from scheduler.adapters.registry import rules_for
from scheduler.articles.bodytext import split_body_hashtags, tag_line_tags
from scheduler.articles.fields import ArticleOptions
from scheduler.articles.jsonfile import load_json
from scheduler.articles.markdown import load_markdown
from scheduler.articles.mdtext import markdown_text
from scheduler.articles.plaintext import is_noise, load_plaintext
from scheduler.config.durations import parse_duration
from scheduler.errors import ArticleError, ConfigError
from scheduler.facets import detect_facets
from scheduler.hashtags import find_hashtags
from scheduler.length.cuts import find_cuts
from scheduler.length.links import find_bluesky_links
from scheduler.length.twitter import parse_tweet
from scheduler.render import TemplateRenderer
from scheduler.render.cutting import sentences, truncate_words
from scheduler.render.filters import camel, escape_markdown_v2


def _repeat(unit: str, prefix: str = "", suffix: str = "") -> Callable[[int], str]:
    def build(size: int) -> str:
        body = size - len(prefix) - len(suffix)
        return prefix + (unit * (body // len(unit) + 1))[: max(body, 0)] + suffix

    return build


HOSTILE: dict[str, Callable[[int], str]] = {
    "#a!!!...a": _repeat("!", "#a", "a"),
    "#a!!!...": _repeat("!", "#a"),
    "# a    ...x": _repeat(" ", "# a", "x"),
    "a    ...x": _repeat(" ", "a", "x"),
    "a\t\t...x": _repeat("\t", "a", "x"),
    "....x": _repeat(".", "", "x"),
    "a.a.a.": _repeat("a."),
    "1.1.1.": _repeat("1."),
    "111...!": _repeat("1", "", "!"),
    "###": _repeat("#"),
    "# # #": _repeat("# "),
    "#1#1": _repeat("#1 "),
    "＃＃": _repeat("＃"),
    "<<<": _repeat("<"),
    "</p><p": _repeat("</p><p"),
    "<p<p": _repeat("<p"),
    "http://a---- x": _repeat("-", "http://a", " x"),
    "http://a.a.a.": _repeat("a.", "http://"),
    "www.www.": _repeat("www."),
    "https://a.co/(((": _repeat("(", "https://a.co/"),
    "x.com/x.com/": _repeat("x.com/"),
    "a.co a.co": _repeat("a.co "),
    "@a@@a@": _repeat("@a@"),
    "@@@": _repeat("@"),
    "@a....": _repeat(".", " @a@a"),
    "***": _repeat("*"),
    "___": _repeat("_"),
    "**a**a": _repeat("**a"),
    "_a_a": _repeat("_a"),
    "[[[": _repeat("["),
    "[a](": _repeat("[a]("),
    "```": _repeat("`"),
    "backslashes": _repeat("\\"),
    "&&&": _repeat("&"),
    ">>>": _repeat(">"),
    "- - -": _repeat("- "),
    "a|a|": _repeat("a|"),
    "| a |": _repeat("| a "),
    "quotes": _repeat("'"),
    "a'a'": _repeat("a'"),
    "………": _repeat("…"),
    "。。。": _repeat("。"),
    "newlines": _repeat("\n"),
    "newline space": _repeat("\n \n"),
    "space newline": _repeat(" \n"),
    "a,a,": _repeat("a,"),
    ", , ,": _repeat(", "),
    "ZWJ": _repeat("\u200d"),
    "flags": _repeat("🇲"),
    "combining": _repeat("e\u0301"),
    "explore a |": _repeat("a |", "Explore the Life Moments of "),
    "explore a   b": _repeat(" ", "Explore the Life Moments of a", "b"),
    "reference a   b": _repeat(" ", "Primary Reference: a", "b"),
    "url: http a   b": _repeat(" ", "URL: http://a", "b"),
    "newline tabs": _repeat("\t", "\n", "\n"),
    "published a|": _repeat("a|", "Published: "),
    "updated by": _repeat(" a", "Updated By:"),
    "a logo": _repeat("a ", "", "x"),
    "1d1d": _repeat("1d"),
    "1.1.1.1d": _repeat("1.", "", "x"),
}

_OPTIONS = ArticleOptions()
_TEMPLATES = Path(tempfile.mkdtemp(prefix="tagcast-regex-cases-"))
atexit.register(shutil.rmtree, _TEMPLATES, ignore_errors=True)
(_TEMPLATES / "body.j2").write_text("{{ body }}\n\n\n\nEnd.", encoding="utf-8")
_RENDERER = TemplateRenderer(_TEMPLATES)
NETWORKS = ("bluesky", "mastodon", "x", "threads", "linkedin", "telegram", "discord", "slack")


def _article(load: Callable[[str], object]) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            return load(text)
        except ArticleError as error:
            return error

    return run


def _duration(text: str) -> object:
    try:
        return parse_duration(text)
    except (ConfigError, ValueError) as error:
        return error


FUNCTIONS: dict[str, Callable[[str], object]] = {
    "hashtags.find_hashtags": find_hashtags,
    "bodytext.tag_line_tags": tag_line_tags,
    "bodytext.split_body_hashtags": split_body_hashtags,
    "plaintext.is_noise": is_noise,
    "plaintext.load_plaintext": _article(
        lambda text: load_plaintext("Title\n" + text, source="a.txt", options=_OPTIONS)
    ),
    "markdown.load_markdown": _article(lambda text: load_markdown(text, source="a.md", options=_OPTIONS)),
    "markdown.front_matter": _article(
        lambda text: load_markdown(
            f"---\ntitle: T\nurl: {json.dumps('http://a' + text)}\ntags: {json.dumps(text)}\n---\n",
            source="a.md",
            options=_OPTIONS,
        )
    ),
    "mdtext.markdown_text": markdown_text,
    "jsonfile.load_json": _article(
        lambda text: load_json(json.dumps({"title": text, "body": text}), source="a.json", options=_OPTIONS)
    ),
    "cutting.sentences": lambda text: sentences(text, 3),
    "cutting.truncate_words": lambda text: truncate_words(text, 280),
    "filters.camel": camel,
    "filters.escape_markdown_v2": escape_markdown_v2,
    "cuts.find_cuts": find_cuts,
    "links.find_bluesky_links": find_bluesky_links,
    "twitter.parse_tweet": parse_tweet,
    "facets.detect_facets": detect_facets,
    "mastodon.status_text": status_text,
    "mastodon._comparable": _comparable,
    "durations.parse_duration": _duration,
    "TemplateRenderer.render": lambda text: _RENDERER.render("body.j2", {"body": text}),
    **{f"length.{network}": rules_for(network).measure for network in NETWORKS},
}
"""Every function that runs a regex over text a user, a template or a server wrote."""

HASHTAG = ("#a!!!...a", "#a!!!...", "###", "# # #", "#1#1", "＃＃", "flags", "ZWJ", "combining", "a    ...x")
URL = (
    "http://a---- x",
    "http://a.a.a.",
    "www.www.",
    "https://a.co/(((",
    "x.com/x.com/",
    "a.co a.co",
    "a.a.a.",
)
MENTION = ("@a@@a@", "@@@", "@a....")
SENTENCE = (
    "....x",
    "a.a.a.",
    "………",
    "。。。",
    "newlines",
    "newline space",
    "space newline",
    "quotes",
    ", , ,",
)
MARKDOWN = (
    "# a    ...x",
    "***",
    "___",
    "**a**a",
    "_a_a",
    "[[[",
    "[a](",
    "```",
    "backslashes",
    "&&&",
    ">>>",
    "- - -",
    "<<<",
    "a|a|",
    "newline space",
    "1.1.1.",
)
NOISE = (
    "explore a   b",
    "reference a   b",
    "url: http a   b",
    "a|a|",
    "| a |",
    "quotes",
    "a'a'",
    "explore a |",
    "published a|",
    "updated by",
    "a logo",
    "a    ...x",
)
LENGTH = URL + HASHTAG + MENTION + SENTENCE

TROUBLE: dict[str, tuple[str, ...]] = {
    "hashtags.find_hashtags": HASHTAG,
    "bodytext.tag_line_tags": HASHTAG + SENTENCE,
    "bodytext.split_body_hashtags": HASHTAG + SENTENCE,
    "plaintext.is_noise": NOISE,
    "plaintext.load_plaintext": NOISE + HASHTAG + URL,
    "markdown.load_markdown": MARKDOWN + HASHTAG,
    "markdown.front_matter": URL + HASHTAG + ("a,a,", ", , ,"),
    "mdtext.markdown_text": MARKDOWN,
    "jsonfile.load_json": (*HASHTAG, "backslashes", "&&&"),
    "cutting.sentences": SENTENCE + URL + HASHTAG,
    "cutting.truncate_words": SENTENCE + URL + HASHTAG,
    "filters.camel": ("a'a'", "quotes", "a,a,", "#a!!!...a", "combining"),
    "filters.escape_markdown_v2": ("backslashes", "___", "***", "[[[", "```"),
    "cuts.find_cuts": LENGTH,
    "links.find_bluesky_links": URL,
    "twitter.parse_tweet": LENGTH,
    "facets.detect_facets": URL + HASHTAG + MENTION,
    "mastodon.status_text": ("<<<", "</p><p", "<p<p"),
    "mastodon._comparable": MENTION,
    "durations.parse_duration": ("111...!", "1d1d", "1.1.1.1d", "1.1.1."),
    "TemplateRenderer.render": ("newlines", "newline space", "space newline", "newline tabs", "a    ...x"),
    **{f"length.{network}": LENGTH for network in NETWORKS},
}
"""For each function, the hostile inputs aimed at its patterns (the test feeds these; the bench feeds all)."""
