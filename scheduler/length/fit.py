"""Make a rendered post fit its network: shorten the body, or split the post into a numbered thread.

Shortening keeps what the template puts around the body (title, link, hashtags) and cuts the body after the
last whole sentence that fits, else after the last whole word that fits, followed by the ellipsis. Splitting
cuts the whole rendered text at paragraph, sentence or word breaks and ends each part with its number, after a
space: ``"... first part 1/3"``. Neither ever cuts inside a grapheme cluster, a URL or a hashtag (see
:mod:`scheduler.length.cuts`). What cannot fit is returned whole, with its problems, for the preview to show.

Every search assumes that a longer prefix never counts less, and probes prefixes of growing size before
bisecting, so the cost depends on the size of the post, not of the article. Each body is rendered once,
however often the searches probe it. A thread part whose length the rules can tell from its size alone
(:meth:`LengthRules.slice_reach`) is not built to be probed: its end is bisected among the cuts.

>>> from scheduler.length import rules_for
>>> rules = rules_for("bluesky", limit=40)
>>> fit(lambda body: f"Title\\n{body}\\nexample.com", "One sentence. Two sentences here.", rules).parts
['Title\\nOne sentence.\\nexample.com']
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.hashtags import find_hashtags
from scheduler.length.cuts import BREAKING_SPACE, CutTable, Kind, cut_table, entity_spans, trim
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

    ``render`` renders the whole post around a given body; it must not count less for a longer body. It is
    called once per distinct body: the searches probe the body they keep before keeping it.
    """
    render = _once_per_body(render)
    full = render(body)
    length, problems = rules.measure(full)
    if not problems:
        return Fitted([full], [length])
    if thread:
        return _split(full, rules)
    return _shorten(render, body, full, rules, ellipsis)


def _once_per_body(render: Callable[[str], str]) -> Callable[[str], str]:
    """``render``, remembering the text of every body it was given."""
    rendered: dict[str, str] = {}

    def remembered(body: str) -> str:
        text = rendered.get(body)
        if text is None:
            text = rendered[body] = render(body)
        return text

    return remembered


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
    cuts = cut_table(body[: _region(render, body, rules)])
    sentences = [end for end, kind in zip(cuts.ends, cuts.kinds, strict=True) if kind >= Kind.SENTENCE]
    found = _last_true(len(sentences), lambda index: rules.fits(render(body[: sentences[index]])))
    if found >= 0:
        return _shortened(render(body[: sentences[found]]), rules)

    def with_ellipsis(index: int) -> str:
        word_start = cuts.resumes[index - 1] if index > 0 else 0
        kept = body[: cuts.ends[index]]
        word = body[word_start : cuts.ends[index]]
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
    length, problems = rules.measure(full)
    return Fitted([full], [length], [*problems, f"cannot be shortened to fit: {reason}"])


def _split(full: str, rules: LengthRules) -> Fitted:
    text = trim(full)
    if not text:
        length, violations = rules.measure(full)
        return Fitted([full], [length], violations)
    cuts = cut_table(text)
    total = 1
    for _ in range(_MAX_NUMBERING_ROUNDS):
        chunks, oversized = _greedy_chunks(text, cuts, rules, total)
        if len(chunks) == total:
            break
        total = len(chunks)
    total = len(chunks)
    _keep_tags_with_text(text, cuts, rules, chunks)
    parts = [f"{chunk} {number}/{total}" for number, chunk in enumerate(chunks, 1)]
    measured = [rules.measure(part) for part in parts]
    problems: list[str] = []
    for number, (length, violations) in enumerate(measured, 1):
        too_long = number - 1 in oversized and length > rules.limit
        hint = " (one word or URL is longer than a whole post)" if too_long else ""
        problems += [f"part {number}/{total}: {problem}{hint}" for problem in violations]
    return Fitted(parts, [length for length, _ in measured], problems)


def _only_hashtags(chunk: str) -> bool:
    """Whether ``chunk`` is nothing but hashtags and the space between them."""
    tags = find_hashtags(chunk)
    rest = chunk
    for tag in reversed(tags):
        rest = rest[: tag.start] + rest[tag.end :]
    return bool(tags) and not _SPACE.sub("", rest)


def _keep_tags_with_text(text: str, cuts: CutTable, rules: LengthRules, chunks: list[str]) -> None:
    """A thread whose last part is only hashtags reads as if they belonged to nothing: move the last sentence
    of the part before (from its last sentence or paragraph break) into it, when the last part still fits.
    The number of parts does not change; when it would not fit, the parts stay as they are."""
    if len(chunks) < 2 or not _only_hashtags(chunks[-1]):
        return
    total = len(chunks)
    last_start = len(text) - len(chunks[-1])
    before_start = text.rindex(chunks[-2], 0, last_start)
    suffix = f" {total}/{total}"
    for index in range(bisect_right(cuts.ends, last_start) - 1, -1, -1):
        end, resume = cuts.ends[index], cuts.resumes[index]
        if end <= before_start:
            return
        if resume >= last_start or cuts.kinds[index] < Kind.SENTENCE:
            continue
        if not rules.fits(text[resume:] + suffix):
            return  # moving more only makes the last part longer
        chunks[-2:] = [text[before_start:end], text[resume:]]
        return


def _greedy_chunks(text: str, cuts: CutTable, rules: LengthRules, total: int) -> tuple[list[str], set[int]]:
    """Fill each part as far as it goes, numbered ``i/total``; also the indices of parts that cannot fit."""
    chunks: list[str] = []
    oversized: set[int] = set()
    reach = rules.slice_reach(text)
    ends, count = cuts.ends, len(cuts)
    start, first = 0, 0
    while start < len(text):
        while first < count and ends[first] <= start:
            first += 1
        suffix = f" {len(chunks) + 1}/{total}"
        part = _Part(text, start, suffix, rules, reach(start, suffix))
        available = count - first
        found = part.last_fitting(ends, first)
        if found == available - 1 and part.fits_up_to(len(text)):
            chunks.append(text[start:])
            break
        if found < 0:
            oversized.add(len(chunks))
            if not available:
                chunks.append(text[start:])
                break
            chosen = first
        else:
            chosen = _strongest(cuts, first, first + found, start)
        chunks.append(text[start : ends[chosen]])
        start = cuts.resumes[chosen]
    return chunks, oversized


@dataclass(frozen=True, slots=True)
class _Part:
    """A part of a thread: ``text`` from ``start`` on, followed by its number (``suffix``).

    ``reach`` is :meth:`LengthRules.slice_reach`'s answer for it: when known, the part fits exactly when it
    ends at or before ``reach``, and no slice is built or counted.
    """

    text: str
    start: int
    suffix: str
    rules: LengthRules
    reach: int | None

    def fits_up_to(self, end: int) -> bool:
        if self.reach is not None:
            return end <= self.reach
        return self.rules.fits(self.text[self.start : end] + self.suffix)

    def last_fitting(self, ends: list[int], first: int) -> int:
        """The largest ``index`` such that the part up to ``ends[first + index]`` fits (-1 if none).

        With a known ``reach`` the answer is where ``reach`` falls among the (increasing) ends: the index that
        probing each part would find, since fitting is true up to ``reach`` and false beyond.
        """
        if self.reach is not None:
            return bisect_right(ends, self.reach, first) - first - 1
        return _last_true(len(ends) - first, lambda index: self.fits_up_to(ends[first + index]))


def _strongest(cuts: CutTable, first: int, last: int, start: int) -> int:
    """The index of the last paragraph, else sentence, break that keeps the part at least a third as full as
    the cut at ``last``.

    A part a third full reads better than a sentence cut in two across posts.
    """
    half = start + (cuts.ends[last] - start) // 3
    for kind in (Kind.PARAGRAPH, Kind.SENTENCE):
        for index in range(last, first - 1, -1):
            if cuts.ends[index] < half:
                break
            if cuts.kinds[index] >= kind:
                return index
    return last
