"""Find URLs the way twitter-text (X) and Mastodon do, with code-point spans.

X counts every URL as 23 characters, including a bare ``example.com`` when its TLD is valid. Mastodon uses
the same extractor with its own path rules and more schemes, and counts only URLs that have a scheme. Both
follow twitter-text's ``extractUrlsWithIndices``: a URL needs a domain with a known TLD, may not follow a
letter, digit, ``@``, ``$`` or ``#``, and a t.co link stops after its slug and query. The conformance file
``shared/conformance/twitter-text/extract.yml`` checks it.

Two bounds keep the work at each position small, where twitter-text's own expression can backtrack for
seconds: a domain label has at most 63 characters and a domain at most 127 labels, as DNS allows. A URL
starting inside a longer label is rejected, as twitter-text does; a domain of more than 127 labels is not
found at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from scheduler.length.tlds import TLDS

_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_PUNCT = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263\u0268\u026F"
    r"\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
_CYRILLIC = r"\u0400-\u04FF"
_DOMAIN_CHAR = rf"[^{_PUNCT}{_SPACES}{_INVALID}]"
_PRECEDING = rf"(?:[^A-Za-z0-9@＠$#＃{_INVALID}]|[{_DIRECTIONAL}]|^)"
_LABEL_BOUND = r"(?=[^.]{1,63}\.)"
_SUBDOMAIN = rf"(?:{_LABEL_BOUND}(?>{_DOMAIN_CHAR}(?:[_-]*{_DOMAIN_CHAR})*)\.)"
_DOMAIN_NAME = rf"(?:{_LABEL_BOUND}(?>{_DOMAIN_CHAR}(?:-*{_DOMAIN_CHAR})*)\.)"
_LABEL_CHAR = re.compile(rf"{_DOMAIN_CHAR}|[_-]")
_PUNYCODE = r"(?:xn--[\-0-9a-z]+)"
_QUERY_CHAR = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
_QUERY_END = r"[a-z0-9\-_&=#/]"

_TWITTER_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{LATIN_ACCENTS}]"
_TWITTER_PATH_END = rf"[+\-a-z{_CYRILLIC}0-9=_#/{LATIN_ACCENTS}]"

_UCHARS = (
    r"\xA0-\uD7FF\uF900-\uFDCF\uFDF0-\uFFEF\U00010000-\U0001FFFD\U00020000-\U0002FFFD\U00030000-\U0003FFFD"
    r"\U00040000-\U000DFFFD\U000E1000-\U000EFFFD\uE000-\uF8FF\U000F0000-\U000FFFFD\U00100000-\U0010FFFD"
)
_WHITE_SPACE = r"\t\n\v\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_MASTODON_PATH_CHAR = rf"[^{_WHITE_SPACE}<>()?]"
_MASTODON_PATH_END = rf"""[^{_WHITE_SPACE}()?!*"'「」<>;:=,.$%\[\]~&|@]"""

_WHITE_SPACE_CHARS = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))
)
"""The characters of ``_WHITE_SPACE``, for walking back to the start of a token."""
_TOKEN_REST = re.compile(rf"[^{_WHITE_SPACE}]*")
_MAX_URL_LENGTH = 4096
_MAX_TCO_SLUG_LENGTH = 40
_MAX_LABEL_LENGTH = 63
_MAX_LABELS = 127
_DEFAULT_PROTOCOL = "https://"


@dataclass(frozen=True)
class UrlGrammar:
    """One dialect of the twitter-text URL grammar (X's own, or Mastodon's override of it)."""

    name: str
    schemes: str
    path_char: str
    path_end: str
    path_alternative: str
    query_char: str
    query_end: str


TWITTER_URLS = UrlGrammar(
    name="twitter-text",
    schemes="https?",
    path_char=_TWITTER_PATH_CHAR,
    path_end=_TWITTER_PATH_END,
    path_alternative=rf"@{_TWITTER_PATH_CHAR}+/",
    query_char=_QUERY_CHAR,
    query_end=_QUERY_END,
)
"""X: ``http`` and ``https`` only, and a conservative set of path characters."""

MASTODON_URLS = UrlGrammar(
    name="mastodon",
    schemes="(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)",
    path_char=_MASTODON_PATH_CHAR,
    path_end=_MASTODON_PATH_END,
    path_alternative=rf"{_MASTODON_PATH_CHAR}+/",
    query_char=rf"[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@\^{_UCHARS}]",
    query_end=rf"[a-z0-9_&=#/\-{_UCHARS}]",
)
"""Mastodon (config/initializers/twitter_regex.rb): more schemes, almost any path character."""


@cache
def _tld_pattern() -> str:
    """The TLDs as a prefix tree (``c(?:at|om?)``): one alternation of 1,400 names takes 20 times longer."""
    tree: dict[str, Any] = {}
    for name in TLDS:
        node = tree
        for char in name:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" not in node:
            return body
        return f"(?:{body})?" if len(branches) == 1 else f"{body}?"

    return rf"(?:{emit(tree)}(?=[^0-9a-zA-Z@+-]|\Z))"


@cache
def _url_regex(grammar: UrlGrammar) -> re.Pattern[str]:
    domain = rf"(?:{_SUBDOMAIN}{{0,{_MAX_LABELS - 2}}}{_DOMAIN_NAME}(?:{_tld_pattern()}|{_PUNYCODE}))"
    balanced = (
        rf"\((?:{grammar.path_char}+|(?:{grammar.path_char}*\({grammar.path_char}+\){grammar.path_char}*))\)"
    )
    path_end = rf"(?:{grammar.path_end}|{balanced})"
    path = (
        rf"(?:(?:{grammar.path_char}*(?:{balanced}{grammar.path_char}*)*{path_end})"
        rf"|(?:{grammar.path_alternative}))"
    )
    return re.compile(
        rf"(?P<before>{_PRECEDING})"
        rf"(?P<url>(?P<protocol>{grammar.schemes}://)?(?P<domain>{domain})(?::[0-9]+)?"
        rf"(?P<path>/{path}*)?(?P<query>\?{grammar.query_char}*{grammar.query_end})?)",
        re.IGNORECASE,
    )


@cache
def _tld_hint_regex() -> re.Pattern[str]:
    """A dot followed by a TLD: what every URL has. Every TLD starts with a letter, so ``(?=\\w)`` drops the
    dots of prose (``". "``) before the 1,400 names are tried."""
    return re.compile(rf"\.(?=\w)(?:{_tld_pattern()}|{_PUNYCODE})", re.IGNORECASE)


@cache
def _ascii_domain_regex() -> re.Pattern[str]:
    return re.compile(rf"(?:[\-a-z0-9{LATIN_ACCENTS}]+\.)+(?:{_tld_pattern()}|{_PUNYCODE})", re.IGNORECASE)


@cache
def _tco_regex() -> re.Pattern[str]:
    return re.compile(rf"^https?://t\.co/([a-z0-9]+)(?:\?{_QUERY_CHAR}*{_QUERY_END})?", re.IGNORECASE)


def _punycode_length(label: str) -> int:
    if label.isascii():
        return len(label)
    return len("xn--") + len(label.encode("punycode"))


def _domain_is_valid(domain: str) -> bool:
    """twitter-text's ``idna.toAscii`` check: every label 1 to 63 characters once punycode-encoded."""
    if domain.lower().startswith("xn--") and not _ascii_domain_regex().search(domain):
        return False
    try:
        return all(1 <= _punycode_length(label) <= _MAX_LABEL_LENGTH for label in domain.split("."))
    except UnicodeError:
        return False


def _first_label_too_long(token: str, domain_start: int, domain: str) -> bool:
    """Whether the domain's first label really starts further left, making it longer than DNS allows.

    The grammar caps labels at 63 characters to stay linear; twitter-text instead matches the whole long label
    and rejects the URL, so a match that starts inside a long label is rejected here too.
    """
    start = domain_start
    while start > 0 and _LABEL_CHAR.fullmatch(token[start - 1]):
        start -= 1
        if domain_start - start + domain.find(".") > _MAX_LABEL_LENGTH:
            return True
    return False


@lru_cache(maxsize=8192)
def _scan(token: str, without_protocol: bool, grammar: UrlGrammar) -> tuple[tuple[int, int, str], ...]:
    """The URLs of one whitespace-free token, in token offsets (cached: fitting counts the same words)."""
    if not _tld_hint_regex().search(token):
        return ()
    found: list[tuple[int, int, str]] = []
    for match in _url_regex(grammar).finditer(token):
        url, protocol, domain = match["url"], match["protocol"], match["domain"]
        start, end = match.start("url"), match.end("url")
        if (
            not _domain_is_valid(domain)
            or len(protocol or _DEFAULT_PROTOCOL) + len(url) > _MAX_URL_LENGTH
            or _first_label_too_long(token, match.start("domain"), domain)
        ):
            continue
        if protocol:
            tco = _tco_regex().match(url)
            if tco:
                if len(tco[1]) > _MAX_TCO_SLUG_LENGTH:
                    continue
                url, end = tco[0], start + len(tco[0])
            found.append((start, end, url))
        elif without_protocol and match["before"][-1:] not in ("-", "_", ".", "/"):
            found.extend(_bare_domains(token, match))
    return tuple(found)


def _bare_domains(token: str, match: re.Match[str]) -> list[tuple[int, int, str]]:
    """twitter-text keeps only the ASCII domains of a URL without a scheme; the last one keeps the path."""
    domain_start = match.start("domain")
    spans = [
        (domain_start + ascii_domain.start(), domain_start + ascii_domain.end())
        for ascii_domain in _ascii_domain_regex().finditer(match["domain"])
    ]
    if spans and match["path"]:
        spans[-1] = (spans[-1][0], match.end("url"))
    return [(start, end, token[start:end]) for start, end in spans]


def find_urls(
    text: str, *, without_protocol: bool, grammar: UrlGrammar = TWITTER_URLS
) -> list[tuple[int, int, str]]:
    """Every URL in ``text`` as ``(start, end, url)``, code-point offsets, ``text[start:end] == url``.

    ``without_protocol`` also finds bare domains such as ``example.com/path`` (X does; Mastodon does not).

    >>> find_urls("see example.com, or https://t.co/abc's", without_protocol=True)
    [(4, 15, 'example.com'), (20, 36, 'https://t.co/abc')]

    A URL lies inside one whitespace-free token that has a dot followed by a TLD (and ``://`` when only URLs
    with a scheme count): only the tokens around such dots are scanned, so prose costs one quick search.
    """
    found: list[tuple[int, int, str]] = []
    if not without_protocol and "://" not in text:
        return found
    token_end = 0
    for hint in _tld_hint_regex().finditer(text):
        if hint.start() < token_end:
            continue
        token_start, token_end = _token_around(text, hint.start())
        found.extend(
            (token_start + start, token_start + end, url)
            for start, end, url in _scan(text[token_start:token_end], without_protocol, grammar)
        )
    return found


def _token_around(text: str, index: int) -> tuple[int, int]:
    """The span of the whitespace-free token of ``text`` that holds ``index``."""
    start = index
    while start > 0 and text[start - 1] not in _WHITE_SPACE_CHARS:
        start -= 1
    end = _TOKEN_REST.match(text, index)
    return start, end.end() if end else index
