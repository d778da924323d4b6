"""Make a rendered post fit its network: shorten the body, or split the post into a numbered thread.

Shortening keeps what the template puts around the body (title, link, hashtags) and cuts the body after the
last whole sentence that fits, else after the last whole word that fits, followed by the ellipsis. Splitting
cuts the whole rendered text at paragraph, sentence or word breaks and ends each part with its number, after a
space: ``"... first part 1/3"``, each part within its own limit (:meth:`LengthRules.for_part`: a first part
may have a limit of its own, a photo's caption); a last part of a word or two takes the last sentence of the
part before (else half of it), and a thread of more than ``max_parts`` parts is a problem. Neither ever cuts
inside a grapheme cluster, a URL or a hashtag (see :mod:`scheduler.length.cuts`). What cannot fit is
returned whole, with its problems, for the preview to show.

Every search assumes that a longer prefix never counts less, and probes prefixes of growing size before
bisecting, so the cost depends on the size of the post, not of the article. Each body is rendered once,
however often the searches probe it. When the body appears once in its rendered post, the searches count the
text around it with shorter bodies instead of rendering them, and render only the body kept, to check that
the template did put just the same text around it (else they search again by rendering). A thread part
whose length the rules can tell from its size alone (:meth:`LengthRules.slice_reach`) is not built to be
probed: its end is bisected among the cuts.

>>> rules = LengthRules("bluesky", limit=40, unit="graphemes", byte_limit=3000)
>>> fit(lambda body: f"Title\\n{body}\\nexample.com", "One sentence. Two sentences here.", rules).parts
['Title\\nOne sentence.\\nexample.com']
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from math import ceil

from scheduler.hashtags import find_hashtags
from scheduler.length.cuts import BREAKING_SPACE, CutTable, Kind, cut_table, entity_spans, trim
from scheduler.length.networks import LengthRules

_MAX_NUMBERING_ROUNDS = 8
_FIRST_REGION = 128
_FIRST_SPLIT_REGION = 16_384
"""Characters of a long post split first when its parts are bounded: ``max_parts`` parts of most networks
fit in it; it doubles while more are needed."""
_SEARCHED_WHOLE = 8
"""A body of at most this many times the limit is searched for cuts whole: tabling its cuts costs less than
the renders that would find where they stop fitting. (The same cuts fit either way.)"""
_FRAME_MARGIN = 16
"""Characters past the body's room where the search for the end of the cuts to table starts when the
template only frames the body (room is counted, cuts are characters: emoji sequences, URLs)."""
_WINDOWED_ROOM = 120
"""A framed body with at least this much room is first searched for a sentence break in the last third of
its room only (a third of the cuts to table), then, when none fits there, from its start."""
_FEWEST_LAST_WORDS = 3
"""A last thread part with fewer words than this (hashtags aside) takes words from the part before."""
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
    render: Callable[[str], str],
    body: str,
    rules: LengthRules,
    *,
    thread: bool = False,
    max_parts: int | None = None,
    ellipsis: str = "…",
) -> Fitted:
    """Fit ``render(body)`` to ``rules``: as it is, with a shorter body, or (``thread=True``) in parts.

    A thread that needs more than ``max_parts`` parts is a problem; its first ``max_parts`` parts are
    returned, and no more of it is cut than it takes to know.

    ``render`` renders the whole post around a given body; it must not count less for a longer body. It is
    called once per distinct body: the searches probe the body they keep before keeping it.

    Each part is fitted to its own limit (:meth:`LengthRules.for_part`): a post of one part, shortened or
    not, to the first part's, and the parts of a thread after the first to ``rules.limit``.
    """
    render = _once_per_body(render)
    first = rules.for_part(0)
    full = render(body)
    length, problems = first.measure(full)
    if not problems:
        return Fitted([full], [length])
    if thread:
        return _split(full, rules, max_parts)
    return _shorten(render, body, (full, length), first, ellipsis)


def _once_per_body(render: Callable[[str], str]) -> Callable[[str], str]:
    """``render``, remembering the text of every body it was given."""
    rendered: dict[str, str] = {}

    def remembered(body: str) -> str:
        text = rendered.get(body)
        if text is None:
            text = rendered[body] = render(body)
        return text

    return remembered


def _last_true(count: int, accepts: Callable[[int], bool], guess: int | None = None) -> int:
    """The largest index below ``count`` that ``accepts`` (-1 if none), for ``accepts`` true up to a point.

    Probes 0, 1, 3, 7, ... then bisects, so that a small answer costs only small probes. With a ``guess``,
    probes it and its neighbours at growing distances on the side where the answer lies instead: a good
    guess costs two probes. The answer is the same either way.
    """
    good, bad = -1, count
    if guess is not None and 0 <= guess < count:
        step = 1
        if accepts(guess):
            good = guess
            while good + step < count:
                if not accepts(good + step):
                    bad = good + step
                    break
                good, step = good + step, 2 * step
        else:
            bad = guess
            while bad - step >= 0:
                if accepts(bad - step):
                    good = bad - step
                    break
                bad, step = bad - step, 2 * step
    else:
        probe = 0
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


def _shorten(
    render: Callable[[str], str], body: str, measured: tuple[str, int], rules: LengthRules, ellipsis: str
) -> Fitted:
    full, length = measured
    framed = _shorten_framed(render, body, full, rules, ellipsis)
    if framed is not None:
        return framed
    # about what the body may take: the limit less what the template adds around it (only a first guess)
    room = rules.limit - max(length - rules.count(body), 0)
    short = len(body) <= _SEARCHED_WHOLE * rules.limit
    cuts = cut_table(body if short else body[: _region(render, body, rules, room)])
    sentences = [end for end, kind in zip(cuts.ends, cuts.kinds, strict=True) if kind >= Kind.SENTENCE]
    found = _last_true(
        len(sentences),
        lambda index: rules.fits(render(body[: sentences[index]])),
        guess=bisect_right(sentences, room) - 1,
    )
    if found >= 0:
        return _shortened(render(body[: sentences[found]]), rules)

    def with_ellipsis(index: int) -> str:
        word_start = cuts.resumes[index - 1] if index > 0 else 0
        kept = body[: cuts.ends[index]]
        word = body[word_start : cuts.ends[index]]
        joiner = " " if ellipsis and (entity_spans(word) or entity_spans(word + ellipsis)) else ""
        return render(kept + joiner + ellipsis)

    found = _last_true(
        len(cuts),
        lambda index: rules.fits(with_ellipsis(index)),
        guess=bisect_right(cuts.ends, room - len(ellipsis) - 1) - 1,
    )
    if found >= 0:
        return _shortened(with_ellipsis(found), rules)
    # nothing fits: perhaps the template's own text does not (no body can fit then, so it is looked at last)
    bare = render("")
    if trim(bare) and not rules.fits(bare):
        return _unfittable(full, rules, "even without its body: " + "; ".join(rules.violations(bare)))
    if rules.fits(bare):
        return _shortened(bare, rules)
    return _unfittable(full, rules, "no part of the body fits")


def _shorten_framed(
    render: Callable[[str], str], body: str, full: str, rules: LengthRules, ellipsis: str
) -> Fitted | None:
    """:func:`_shorten` with one more render, when the template only puts text around the body.

    The body appears once in the rendered post, so the post of any shorter body is guessed as the same text
    around it (the template's "frame") and the searches count these guesses instead of rendering each. The
    body is tabled for cuts only up to the first whole-word prefix, of growing length, that cannot fit. The
    text kept is then rendered for real: when it is not the guess (a template that looks at the body), None,
    and :func:`_shorten` searches by rendering, as it would have without the guess.
    """
    start = full.find(body) if body else -1
    if start < 0 or full.find(body, start + 1) >= 0:
        return None
    before, after = full[:start], full[start + len(body) :]

    counted: dict[str, int] = {}

    def fits(kept: str) -> bool:
        text = before + kept + after
        counted[text], problems = rules.measure(text)
        return not problems

    room = max(rules.limit - rules.count(before + after), 0)
    end = _framed_end(body, fits, room + _FRAME_MARGIN)
    space = _SPACE.search(body, room - room // 3, end) if room >= _WINDOWED_ROOM else None
    if space is not None:
        # first the cuts of the last third of the room: the sentence kept most likely ends there
        kept = _last_sentence(body, space.start(), end, fits, room)
        if kept is not None:
            return _framed_result(render, kept, (before, after), counted)
    cuts = cut_table(body[:end])
    kept = _last_sentence(body, 0, end, fits, room, cuts=cuts)
    if kept is not None:
        return _framed_result(render, kept, (before, after), counted)

    def with_ellipsis(index: int) -> str:
        word_start = cuts.resumes[index - 1] if index > 0 else 0
        word = body[word_start : cuts.ends[index]]
        joiner = " " if ellipsis and (entity_spans(word) or entity_spans(word + ellipsis)) else ""
        return body[: cuts.ends[index]] + joiner + ellipsis

    found = _last_true(
        len(cuts),
        lambda index: fits(with_ellipsis(index)),
        guess=bisect_right(cuts.ends, room - len(ellipsis) - 1) - 1,
    )
    if found >= 0:
        return _framed_result(render, with_ellipsis(found), (before, after), counted)
    return None


def _last_sentence(
    body: str,
    start: int,
    end: int,
    fits: Callable[[str], bool],
    room: int,
    *,
    cuts: CutTable | None = None,
) -> str | None:
    """The longest prefix of ``body`` ending at a sentence or paragraph break between ``start`` and ``end``
    that ``fits`` (None if none does).

    The breaks are those of ``body[start:end]`` (``cuts``, when given, for ``start`` 0): ``start`` is in a
    run of breaking space, and a cut's kind and whether it is allowed depend only on its word, its run of
    space and the character after it (URLs, hashtags and clusters never span a breaking space), so they are
    the whole body's breaks after ``start``."""
    table = cut_table(body[start:end]) if cuts is None else cuts
    kinds = zip(table.ends, table.kinds, strict=True)
    sentences = [start + at for at, kind in kinds if kind >= Kind.SENTENCE]
    found = _last_true(
        len(sentences), lambda index: fits(body[: sentences[index]]), guess=bisect_right(sentences, room) - 1
    )
    return body[: sentences[found]] if found >= 0 else None


def _framed_end(body: str, fits: Callable[[str], bool], position: int) -> int:
    """Where a whole-word prefix of ``body`` from about ``position`` characters on (growing by a quarter)
    first does not ``fits``: no cut beyond it can fit (``len(body)`` if every one fits). It is the start of
    a run of breaking space, so the cuts before it are those of the whole body: each cut's kind depends only
    on its run of space and the character after it."""
    while position < len(body):
        space = _SPACE.search(body, position)
        if space is None:
            break
        if not fits(body[: space.start()]):
            return space.start()
        position = space.end() + space.end() // 4 + _FRAME_MARGIN
    return len(body)


def _framed_result(
    render: Callable[[str], str], kept: str, frame: tuple[str, str], counted: dict[str, int]
) -> Fitted | None:
    """The post of ``kept``, rendered, when it is the text the search counted (``counted``), else None."""
    text = render(kept)
    if text != frame[0] + kept + frame[1]:
        return None
    return Fitted([text], [counted[text]], shortened=True)


def _region(render: Callable[[str], str], body: str, rules: LengthRules, room: int) -> int:
    """An end of ``body`` past which no cut can fit: the first whole-word prefix, of doubling lengths, that
    does not fit (``len(body)`` if none). Only the body before it is searched for cuts.

    The search among the prefixes starts from the longest one within ``room`` characters: where the body
    most likely stops fitting."""
    ends: list[int] = []
    position = _FIRST_REGION
    while position < len(body):
        space = _SPACE.search(body, position)
        if space is None:
            break
        ends.append(space.start())
        position = 2 * space.end()
    fitting = _last_true(
        len(ends), lambda index: rules.fits(render(body[: ends[index]])), guess=bisect_right(ends, room) - 1
    )
    return ends[fitting + 1] if fitting + 1 < len(ends) else len(body)


def _shortened(text: str, rules: LengthRules) -> Fitted:
    return Fitted([text], [rules.count(text)], shortened=True)


def _unfittable(full: str, rules: LengthRules, reason: str) -> Fitted:
    length, problems = rules.measure(full)
    return Fitted([full], [length], [*problems, f"cannot be shortened to fit: {reason}"])


def _split(full: str, rules: LengthRules, max_parts: int | None) -> Fitted:
    text = trim(full)
    if not text:
        length, violations = rules.for_part(0).measure(full)
        return Fitted([full], [length], violations)
    region = len(text) if max_parts is None else _FIRST_SPLIT_REGION
    while True:
        end = _region_end(text, region)
        cuts = cut_table(text[:end])
        run = _numbered_chunks(text[:end], cuts, rules, max_parts)
        if end == len(text) or (max_parts is not None and run.reliable > max_parts):
            break
        region *= 2
    if max_parts is not None and len(run.chunks) > max_parts:
        return _too_many_parts(text, run, rules, max_parts, cuts=cuts, prefix_end=end)
    chunks = run.chunks
    _keep_last_part_company(text, cuts, rules, chunks)
    total = len(chunks)
    parts = [f"{chunk} {number}/{total}" for number, chunk in enumerate(chunks, 1)]
    return _measured(parts, total, run.oversized, rules)


def _region_end(text: str, region: int) -> int:
    """Where a prefix of ``text`` of about ``region`` characters ends: before the first breaking whitespace
    from ``region`` on, so that no word, URL or hashtag is cut off (``len(text)`` when there is none)."""
    if region >= len(text):
        return len(text)
    space = _SPACE.search(text, region)
    return len(text) if space is None else space.start()


def _numbered_chunks(text: str, cuts: CutTable, rules: LengthRules, max_parts: int | None) -> _Chunks:
    """The chunks of ``text``, numbered ``i/total`` with their final total (a few rounds: a longer number
    may need one more part). With ``max_parts`` the chunking stops as soon as there are more parts than
    that, so an article of 5 MB costs ``max_parts + 1`` parts, not its thousands."""
    total = 1
    for _ in range(_MAX_NUMBERING_ROUNDS):
        run = _greedy_chunks(text, cuts, rules, total, stop_after=max_parts)
        if len(run.chunks) == total or (max_parts is not None and len(run.chunks) > max_parts):
            return run
        total = len(run.chunks)
    return run


def _too_many_parts(
    text: str, run: _Chunks, rules: LengthRules, max_parts: int, *, cuts: CutTable, prefix_end: int
) -> Fitted:
    """The first ``max_parts`` parts, numbered against the whole thread, and the problem: how many parts the
    thread needs (estimated from the text the first parts hold, unless they hold all of it)."""
    exact = run.complete and run.consumed == len(text)
    needed = len(run.chunks)
    if not exact:
        needed = max(needed, ceil(len(text) * needed / max(run.consumed, 1)))
    # the parts shown are cut for their own numbers (a longer "i/N" leaves less room than "i/1" did)
    run = _greedy_chunks(text[:prefix_end], cuts, rules, needed, stop_after=max_parts)
    parts = [f"{chunk} {number}/{needed}" for number, chunk in enumerate(run.chunks[:max_parts], 1)]
    fitted = _measured(parts, needed, run.oversized, rules)
    fitted.problems.insert(
        0,
        f"the thread needs {'' if exact else 'about '}{needed:,} parts; the channel allows "
        f"max_parts = {max_parts}: shorten the article or raise max_parts",
    )
    return fitted


def _measured(parts: list[str], total: int, oversized: set[int], rules: LengthRules) -> Fitted:
    measured = [rules.for_part(index).measure(part) for index, part in enumerate(parts)]
    limits = rules.limits(len(parts))
    problems: list[str] = []
    for number, (length, violations) in enumerate(measured, 1):
        too_long = number - 1 in oversized and length > limits[number - 1]
        hint = " (one word or URL is longer than a whole post)" if too_long else ""
        problems += [f"part {number}/{total}: {problem}{hint}" for problem in violations]
    return Fitted(parts, [length for length, _ in measured], problems)


def _only_hashtags(chunk: str) -> bool:
    """Whether ``chunk`` is nothing but hashtags and the space between them."""
    return bool(find_hashtags(chunk)) and not _words(chunk)


def _words(chunk: str) -> list[str]:
    """The words of ``chunk`` that are not hashtags."""
    tags = find_hashtags(chunk)
    rest = chunk
    for tag in reversed(tags):
        rest = rest[: tag.start] + " " + rest[tag.end :]
    return [word for word in _SPACE.split(rest) if word]


def _keep_last_part_company(text: str, cuts: CutTable, rules: LengthRules, chunks: list[str]) -> None:
    """A thread whose last part is only hashtags, or a word or two (``channel. 5/5``), reads as if it
    belonged to nothing: move the last sentence of the part before (from its last sentence or paragraph
    break) into it, when the last part still fits. A lone word or two with no sentence that fits takes
    the word break that shares the two parts' text most evenly instead; hashtags alone stay alone then. The
    number of parts never changes; nothing moves when it would not fit."""
    if len(chunks) < 2:
        return
    tags_only = _only_hashtags(chunks[-1])
    if not tags_only and len(_words(chunks[-1])) >= _FEWEST_LAST_WORDS:
        return
    total = len(chunks)
    rules = rules.for_part(total - 1)
    last_start = len(text) - len(chunks[-1])
    before_start = text.rindex(chunks[-2], 0, last_start)
    suffix = f" {total}/{total}"
    first = bisect_right(cuts.ends, before_start)  # the cuts strictly inside the part before
    last = bisect_left(cuts.resumes, last_start, first) - 1
    if last < first:
        return
    # how far back the cut may move: fitting only gets harder the more text the last part takes
    reach = _last_true(last - first + 1, lambda back: rules.fits(text[cuts.resumes[last - back] :] + suffix))
    if reach < 0:
        return
    earliest = last - reach
    for index in range(last, earliest - 1, -1):
        if cuts.kinds[index] >= Kind.SENTENCE:
            chunks[-2:] = [text[before_start : cuts.ends[index]], text[cuts.resumes[index] :]]
            return
    if tags_only:
        return
    middle = (before_start + len(text)) // 2
    index = min(range(earliest, last + 1), key=lambda i: abs(cuts.ends[i] - middle))
    chunks[-2:] = [text[before_start : cuts.ends[index]], text[cuts.resumes[index] :]]


@dataclass
class _Chunks:
    """The chunks of one chunking, and the indices of those that cannot fit (``oversized``). ``consumed`` is
    how much of the text they hold, ``complete`` whether they hold all of it (not stopped after enough parts),
    ``reliable`` how many of the first chunks the end of the text did not decide (a prefix of a longer text
    chunks the same up to there)."""

    chunks: list[str]
    oversized: set[int]
    consumed: int
    complete: bool
    reliable: int


def _greedy_chunks(
    text: str, cuts: CutTable, rules: LengthRules, total: int, *, stop_after: int | None = None
) -> _Chunks:
    """Fill each part as far as it goes, numbered ``i/total``, each to its own limit; stop past
    ``stop_after`` parts."""
    chunks: list[str] = []
    oversized: set[int] = set()
    reliable: int | None = None
    first_rules, later_rules = rules.for_part(0), rules.for_part(1)
    first_reach = first_rules.slice_reach(text)
    later_reach = first_reach if later_rules is first_rules else later_rules.slice_reach(text)
    ends, count = cuts.ends, len(cuts)
    start, first = 0, 0
    while start < len(text):
        if stop_after is not None and len(chunks) > stop_after:
            return _Chunks(chunks, oversized, start, False, len(chunks) if reliable is None else reliable)
        while first < count and ends[first] <= start:
            first += 1
        suffix = f" {len(chunks) + 1}/{total}"
        part_rules, reach = (later_rules, later_reach) if chunks else (first_rules, first_reach)
        part = _Part(text, start, suffix, part_rules, reach(start, suffix))
        available = count - first
        found = part.last_fitting(ends, first)
        if found == available - 1 and reliable is None:
            reliable = len(chunks)  # a longer text could have a later cut that fits
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
    return _Chunks(chunks, oversized, len(text), True, len(chunks) if reliable is None else reliable)


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
