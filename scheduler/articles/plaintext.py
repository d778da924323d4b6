"""Plain-text articles as published by the summary site (see ``samples/article-plain-text.txt``)::

    Stalin's Role in Khalkhin Gol Battles          <- title: the first non-empty line
    MoofLife logo                                   \\
     | Military |                                    |  site noise (NOISE_PATTERNS), recognised only in the
    Updated By: History Editorial Network (HEN)      |  header: up to the first blank line after some text
    Published:  | Updated:                           |
    4 min read                                      /
    The Battles of Khalkhin Gol were ...            <- body: every other line, paragraphs kept
    #mooflife #MomentOfLife #Stalin ...             <- a line made only of hashtags: the hashtags
    Primary Reference: Battles of Khalkhin Gol      <- reference
    Explore the Life Moments of Joseph Stalin |     <- explore

An optional ``URL: https://...`` line, or a line holding only a web address, gives the url; an optional
``Image: photo.jpg`` line (a path relative to the file, or an https address) and ``Image alt: ...`` line give
its image and the image's alt text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from scheduler.articles.bodytext import tag_line_tags
from scheduler.articles.fields import ArticleOptions, RawArticle, build_article
from scheduler.errors import ArticleError
from scheduler.models import Article

_WORDS = r"[^\W\d_][\w&'’.-]*(?:\s[\w&'’.-]+){0,3}"

NOISE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"[\w&'’.-]+(?:\s[\w&'’.-]+){0,3}\slogo",
        rf"(?=.*\|)\|?\s*{_WORDS}(?:\s*\|\s*{_WORDS})*\s*\|?",
        r"(?:updated|written|edited|posted|published|reviewed)\s+by:.*",
        r"(?:published|updated):[^|]*(?:\|\s*(?:published|updated):[^|]*)?",
        r"\d{1,3}\s?min(?:ute)?s?\sread",
    )
)
"""Whole lines (stripped) that are site furniture, not article text, when they come before the body."""

FIELD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reference", re.compile(r"primary reference:\s*(?P<value>.+)", re.IGNORECASE)),
    # The closing " |" is taken off in _field: a lazy value before an optional "\s*\|" was quadratic.
    ("explore", re.compile(r"explore the life moments of\s+(?P<value>.+)", re.IGNORECASE)),
    ("image", re.compile(r"image:\s*(?P<value>\S+)", re.IGNORECASE)),
    ("image_alt", re.compile(r"image[ _]alt:\s*(?P<value>.+)", re.IGNORECASE)),
    ("url", re.compile(r"(?:url|link):\s*(?P<value>https?://\S+)", re.IGNORECASE)),
    ("url", re.compile(r"(?P<value>https?://\S+)", re.IGNORECASE)),
)
"""Whole lines (stripped) that carry one article field, wherever they are."""


@dataclass(slots=True)
class _Parsed:
    values: dict[str, Any] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    paragraphs: list[list[str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def load_plaintext(text: str, *, source: str, options: ArticleOptions) -> Article:
    """Read one plain-text article; ``source`` names the file in errors and on the article."""
    lines = text.splitlines()
    title_index = next((index for index, line in enumerate(lines) if line.strip()), None)
    if title_index is None:
        raise ArticleError(
            source, "the file is empty", line=1, hint="write the title on the first line, then the text"
        )
    parsed = _parse(lines, start=title_index + 1)
    parsed.values["title"] = lines[title_index].strip()
    parsed.key_lines["title"] = title_index + 1
    body = "\n\n".join("\n".join(paragraph) for paragraph in parsed.paragraphs)
    raw = RawArticle(
        source=source,
        file=source,
        values=parsed.values,
        key_lines=parsed.key_lines,
        body=body,
        extra_tags=parsed.tags,
    )
    return build_article(raw, options)


def is_noise(line: str) -> bool:
    """Whether ``line`` is one of the site's header lines (logo, section, byline, dates, reading time)."""
    stripped = line.strip()
    return any(pattern.fullmatch(stripped) for pattern in NOISE_PATTERNS)


def _parse(lines: list[str], *, start: int) -> _Parsed:
    parsed = _Parsed()
    in_header, wrote_text = True, False
    paragraph: list[str] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        tags = tag_line_tags(stripped) if stripped else None
        found = _field(stripped)
        if not stripped or tags is not None or found or (in_header and is_noise(stripped)):
            if paragraph:
                parsed.paragraphs.append(paragraph)
                paragraph = []
            in_header = in_header and (bool(stripped) or not wrote_text)
            parsed.tags.extend(tags or ())
            if found and found[0] not in parsed.values:
                parsed.values[found[0]] = found[1]
                parsed.key_lines[found[0]] = number
            continue
        wrote_text = True
        paragraph.append(stripped)
    if paragraph:
        parsed.paragraphs.append(paragraph)
    return parsed


def _field(line: str) -> tuple[str, str] | None:
    for key, pattern in FIELD_PATTERNS:
        match = pattern.fullmatch(line)
        if match:
            value = match["value"]
            if key == "explore" and value.endswith("|") and value[:-1].strip():
                value = value[:-1]
            return key, value.strip()
    return None
