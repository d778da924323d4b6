"""Make a rendered post fit its network: shorten the body, or split the post into a numbered thread.

Shortening keeps what the template puts around the body (title, link, hashtags) and cuts the body after the
last whole sentence that fits, else after the last whole word that fits, followed by the ellipsis. Splitting
cuts the whole rendered text at paragraph, sentence or word breaks and ends each part with its number, after a
space: ``"... first part 1/3"``. Neither ever cuts inside a grapheme cluster, a URL or a hashtag (see
:mod:`scheduler.length.cuts`). What cannot fit is returned whole, with its problems, for the preview to show.

Every search assumes that a longer prefix never counts less, and probes prefixes of growing size before
bisecting, so the cost depends on the size of the post, not of the article.

>>> from scheduler.length import rules_for
>>> rules = rules_for("bluesky", limit=40)
>>> fit(lambda body: f"Title\\n{body}\\nexample.com", "One sentence. Two sentences here.", rules).parts
['Title\\nOne sentence.\\nexample.com']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.length.cuts import BREAKING_SPACE, Cut, Kind, entity_spans, find_cuts, trim
from scheduler.length.networks import LengthRules

_MAX_NUMBERING_ROUNDS = 8
_FIRST_REGION = 128
_SPACE = re.compile(f"[{BREAKING_SPACE}]")


@dataclass
class Fitted:
    """The parts of a post as they will be sent, their lengths as the network counts them, what is wrong.

    ``problems`` is empty when every part fits; ``shortened`` says that some of the body was left out.
    """

    parts: list[str]
    lengths: list[int]
    problems: list[str] = field(default_factory=list)
    shortened: bool = False


def fit(
    render: Callable[[str], str], body: str, rules: LengthRules, *, thread: bool = False, ellipsis: str = "…"
) -> Fitted:
    """Fit ``render(body)`` to ``rules``: as it is, with a shorter body, or (``thread=True``) in parts.

    ``render`` renders the whole post around a given body; it must not count less for a longer body.
    """
    full = render(body)
    if rules.fits(full):
        return Fitted([full], [rules.count(full)])
    if thread:
        return _split(full, rules)
    return _shorten(render, body, full, rules, ellipsis)


def _last_true(count: int, accepts: Callable[[int], bool]) -> int:
    """The largest index below ``count`` that ``accepts`` (-1 if none), for ``accepts`` true up to a point.

    Probes 0, 1, 3, 7, ... then bisects, so that a small answer costs only small probes.
    """
    good, bad, probe = -1, count, 0
    while probe < count:
        if not accepts(probe):
            bad = probe
            break
        good, probe = probe, 2 * probe + 1
    while bad - good > 1:
        middle = (good + bad) // 2
        if accepts(middle):
            good = middle
        else:
            bad = middle
    return good


def _shorten(render: Callable[[str], str], body: str, full: str, rules: LengthRules, ellipsis: str) -> Fitted:
    bare = render("")
    if trim(bare) and not rules.fits(bare):
        return _unfittable(full, rules, "even without its body: " + "; ".join(rules.violations(bare)))
    cuts = find_cuts(body[: _region(render, body, rules)])
    sentences = [cut for cut in cuts if cut.kind >= Kind.SENTENCE]
    found = _last_true(len(sentences), lambda index: rules.fits(render(body[: sentences[index].end])))
    if found >= 0:
        return _shortened(render(body[: sentences[found].end]), rules)

    def with_ellipsis(index: int) -> str:
        word_start = cuts[index - 1].resume if index > 0 else 0
        kept = body[: cuts[index].end]
        word = body[word_start : cuts[index].end]
        joiner = " " if ellipsis and (entity_spans(word) or entity_spans(word + ellipsis)) else ""
        return render(kept + joiner + ellipsis)

    found = _last_true(len(cuts), lambda index: rules.fits(with_ellipsis(index)))
    if found >= 0:
        return _shortened(with_ellipsis(found), rules)
    if rules.fits(bare):
        return _shortened(bare, rules)
    return _unfittable(full, rules, "no part of the body fits")


def _region(render: Callable[[str], str], body: str, rules: LengthRules) -> int:
    """An end of ``body`` past which no cut can fit: the first whole-word prefix, of doubling lengths, that
    does not fit (``len(body)`` if none). Only the body before it is searched for cuts."""
    position = _FIRST_REGION
    while position < len(body):
        space = _SPACE.search(body, position)
        if space is None:
            break
        if not rules.fits(render(body[: space.start()])):
            return space.start()
        position = 2 * space.end()
    return len(body)


def _shortened(text: str, rules: LengthRules) -> Fitted:
    return Fitted([text], [rules.count(text)], shortened=True)


def _unfittable(full: str, rules: LengthRules, reason: str) -> Fitted:
    problems = rules.violations(full)
    return Fitted([full], [rules.count(full)], [*problems, f"cannot be shortened to fit: {reason}"])


def _split(full: str, rules: LengthRules) -> Fitted:
    text = trim(full)
    if not text:
        return Fitted([full], [rules.count(full)], rules.violations(full))
    cuts = find_cuts(text)
    total = 1
    for _ in range(_MAX_NUMBERING_ROUNDS):
        chunks, oversized = _greedy_chunks(text, cuts, rules, total)
        if len(chunks) == total:
            break
        total = len(chunks)
    total = len(chunks)
    parts = [f"{chunk} {number}/{total}" for number, chunk in enumerate(chunks, 1)]
    problems: list[str] = []
    for number, part in enumerate(parts, 1):
        too_long = number - 1 in oversized and rules.count(part) > rules.limit
        hint = " (one word or URL is longer than a whole post)" if too_long else ""
        problems += [f"part {number}/{total}: {problem}{hint}" for problem in rules.violations(part)]
    return Fitted(parts, [rules.count(part) for part in parts], problems)


def _greedy_chunks(text: str, cuts: list[Cut], rules: LengthRules, total: int) -> tuple[list[str], set[int]]:
    """Fill each part as far as it goes, numbered ``i/total``; also the indices of parts that cannot fit."""
    chunks: list[str] = []
    oversized: set[int] = set()
    start, first = 0, 0
    while start < len(text):
        while first < len(cuts) and cuts[first].end <= start:
            first += 1
        suffix = f" {len(chunks) + 1}/{total}"
        available = len(cuts) - first
        found = _last_true(available, _part_fits(text, start, cuts[first:], suffix, rules))
        if found == available - 1 and rules.fits(text[start:] + suffix):
            chunks.append(text[start:])
            break
        if found < 0:
            oversized.add(len(chunks))
            if not available:
                chunks.append(text[start:])
                break
            chosen = cuts[first]
        else:
            chosen = _strongest(cuts, first, first + found, start)
        chunks.append(text[start : chosen.end])
        start = chosen.resume
    return chunks, oversized


def _part_fits(
    text: str, start: int, cuts: list[Cut], suffix: str, rules: LengthRules
) -> Callable[[int], bool]:
    """Whether the part from ``start`` to ``cuts[index]``, numbered with ``suffix``, fits."""
    return lambda index: rules.fits(text[start : cuts[index].end] + suffix)


def _strongest(cuts: list[Cut], first: int, last: int, start: int) -> Cut:
    """The last paragraph, else sentence, break that keeps the part at least a third as full as ``last``.

    A part a third full reads better than a sentence cut in two across posts.
    """
    half = start + (cuts[last].end - start) // 3
    for kind in (Kind.PARAGRAPH, Kind.SENTENCE):
        for index in range(last, first - 1, -1):
            if cuts[index].end < half:
                break
            if cuts[index].kind >= kind:
                return cuts[index]
    return cuts[last]
