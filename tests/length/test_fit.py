"""Fitting posts to networks: examples for each network and each way of fitting."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scheduler.adapters.registry import rules_for
from scheduler.length import Fitted, LengthRules, find_urls, twitter_weighted_length
from scheduler.length.cuts import Kind, find_cuts
from scheduler.length.fit import fit

LINK = "https://example.com/articles/2024/08/the-battle-of-khalkhin-gol-and-what-it-changed-for-the-war"
TITLE = "Khalkhin Gol, 1939"
TAGS = "#KhalkhinGol #MilitaryHistory"


def render(body: str) -> str:
    return f"{TITLE}\n\n{body}\n\n{LINK} {TAGS}"


def body_of(text: str) -> str:
    head, tail = f"{TITLE}\n\n", f"\n\n{LINK} {TAGS}"
    assert text.startswith(head)
    assert text.endswith(tail)
    return text[len(head) : -len(tail)]


SENTENCES = [
    "The Battles of Khalkhin Gol were fought in the summer of 1939 on the Mongolian border.",
    "Soviet and Mongolian forces under Georgy Zhukov defeated the Japanese Sixth Army.",
    "The defeat pushed Japan towards a neutrality pact and a southern strategy.",
    "Historians still argue about how much it shaped the rest of the Second World War.",
]
BODY = " ".join(SENTENCES)


def test_a_post_that_fits_is_left_alone() -> None:
    result = fit(render, "Short.", rules_for("mastodon"))
    assert result == Fitted([render("Short.")], [rules_for("mastodon").count(render("Short."))], [], False)


def test_x_shortens_at_a_sentence_and_counts_the_link_as_23() -> None:
    rules = rules_for("x")
    result = fit(render, BODY, rules)
    (text,) = result.parts
    assert result.shortened
    assert not result.problems
    assert body_of(text) == " ".join(SENTENCES[:2])
    assert len(text) > 280
    assert result.lengths == [twitter_weighted_length(text)] == [rules.count(text)]
    assert result.lengths[0] <= 280
    assert [url for _, _, url in find_urls(text, without_protocol=True)] == [LINK]


def test_without_a_sentence_that_fits_the_body_is_cut_at_a_word_with_an_ellipsis() -> None:
    rules = rules_for("bluesky", limit=200)
    body = "A long sentence without any end " * 10
    result = fit(render, body.strip(), rules)
    kept = body_of(result.parts[0])
    assert kept.endswith("…")
    assert body.startswith(kept.removesuffix("…"))
    assert body[len(kept) - 1] == " "
    assert rules.fits(result.parts[0])
    assert result.shortened


def test_an_ellipsis_never_joins_a_url_or_hashtag() -> None:
    rules = rules_for("bluesky", limit=23)
    for last in ("example.org/page", "#KhalkhinGol"):
        result = fit(lambda body: body, f"aaa {last} bbbbbbbbbbbbbbbbb", rules)
        assert result.parts == [f"aaa {last} …"]
    assert fit(lambda body: body, "aaa plainword bbbbbbbbbbbbbbbbb", rules).parts == ["aaa plainword…"]


def test_an_abbreviation_is_not_a_sentence_end() -> None:
    cuts = find_cuts("Use e.g. the first. Then More")
    kinds = {cut.end: cut.kind for cut in cuts}
    assert kinds[8] == Kind.WORD
    assert kinds[19] == Kind.SENTENCE


def test_bluesky_with_emoji_counts_graphemes_and_bytes() -> None:
    rules = rules_for("bluesky")
    body = " ".join(sentence.replace(".", " 🇲🇳👨‍👩‍👧‍👦🔥.") for sentence in SENTENCES)
    result = fit(render, body, rules)
    (text,) = result.parts
    assert rules.fits(text)
    assert result.lengths[0] <= 300
    assert "👨‍👩‍👧‍👦" in text
    assert body.startswith(body_of(text).removesuffix("…"))


def test_bluesky_byte_limit_alone_forces_shortening() -> None:
    rules = rules_for("bluesky")
    family = "👨‍👩‍👧‍👦"
    body = " ".join([family * 5] * 30)
    result = fit(lambda b: b, body, rules)
    (text,) = result.parts
    assert rules.fits(text)
    assert len(text.encode()) <= 3000
    assert result.shortened


def test_mastodon_with_a_content_warning() -> None:
    plain = fit(render, BODY * 2, rules_for("mastodon"))
    warned = fit(render, BODY * 2, rules_for("mastodon", spoiler_text="CW: war, " * 10))
    assert rules_for("mastodon", spoiler_text="CW: war, " * 10).count(warned.parts[0]) <= 500
    assert len(warned.parts[0]) < len(plain.parts[0])
    assert warned.lengths[0] == rules_for("mastodon", spoiler_text="CW: war, " * 10).count(warned.parts[0])


def test_a_template_that_cannot_fit_is_a_problem_not_a_mangled_post() -> None:
    rules = rules_for("x")
    result = fit(lambda body: "T" * 300 + "\n" + body, BODY, rules)
    assert result.parts == ["T" * 300 + "\n" + BODY]
    assert not result.shortened
    assert result.problems[0].endswith("weighted characters, limit 280")
    assert result.problems[-1] == (
        "cannot be shortened to fit: even without its body: 301 weighted characters, limit 280"
    )


def test_a_body_whose_first_word_is_too_long_is_dropped() -> None:
    rules = rules_for("bluesky", limit=150)
    result = fit(render, "x" * 400 + " tail", rules)
    assert result.parts == [render("")]
    assert result.shortened


def test_chinese_text_is_cut_after_a_full_width_full_stop() -> None:
    rules = rules_for("bluesky", limit=170)
    body = "哈拉哈河战役发生于一九三九年夏季。" * 12
    result = fit(render, body, rules)
    kept = body_of(result.parts[0])
    assert kept.endswith("。")
    assert body.startswith(kept)
    assert rules.fits(result.parts[0])


def test_thread_numbers_each_part_and_every_part_fits() -> None:
    rules = rules_for("x")
    body = "\n\n".join([BODY] * 3)
    result = fit(render, body, rules, thread=True)
    total = len(result.parts)
    assert total >= 3
    assert not result.problems
    assert not result.shortened
    for number, part in enumerate(result.parts, 1):
        assert part.endswith(f" {number}/{total}")
        assert rules.fits(part)
    assert result.lengths == [rules.count(part) for part in result.parts]
    joined = " ".join(part.rsplit(" ", 1)[0] for part in result.parts)
    assert joined.split() == render(body).split()


def test_thread_prefers_paragraph_breaks() -> None:
    rules = rules_for("bluesky", limit=200)
    paragraphs = [SENTENCES[0] + " " + SENTENCES[1], "Second paragraph " + "word " * 30]
    result = fit(lambda body: body, "\n\n".join(paragraphs), rules, thread=True)
    assert result.parts[0] == paragraphs[0] + " 1/2"
    assert result.parts[1].startswith("Second paragraph word")


def test_thread_with_a_url_longer_than_a_post_reports_it() -> None:
    rules = rules_for("bluesky", limit=100)
    long_url = "https://example.com/" + "a" * 150
    result = fit(lambda body: body, f"Read this {long_url} and tell me", rules, thread=True)
    assert long_url + " 2/3" in result.parts
    assert len(result.problems) == 1
    assert result.problems[0].startswith("part 2/3: 174 graphemes, limit 100")
    assert result.problems[0].endswith("(one word or URL is longer than a whole post)")


def test_a_twenty_thousand_character_body() -> None:
    body = " ".join(SENTENCES * 60)
    assert len(body) > 19_000
    for network in ("x", "bluesky", "mastodon", "threads"):
        rules = rules_for(network)
        short = fit(render, body, rules)
        assert rules.fits(short.parts[0])
        assert short.shortened
        thread = fit(render, body, rules, thread=True)
        assert not thread.problems
        assert all(rules.fits(part) for part in thread.parts)


@pytest.mark.parametrize(
    ("body", "tags", "parts"),
    [
        (  # the last sentence goes with the hashtags
            "Word Word Word Word Word Word. Word Word Word Word Word.",
            "#KhalkhinGol #Nomonhan",
            ["Word Word Word Word Word Word. 1/2", "Word Word Word Word Word.\n\n#KhalkhinGol #Nomonhan 2/2"],
        ),
        (  # it would not fit with them: the hashtags stay alone
            "The first sentence runs to forty letters. The second one runs to forty letters too.",
            "#KhalkhinGol #Nomonhan #History",
            [
                "The first sentence runs to forty letters. 1/3",
                "The second one runs to forty letters too. 2/3",
                "#KhalkhinGol #Nomonhan #History 3/3",
            ],
        ),
    ],
)
def test_a_threads_hashtags_keep_the_last_sentence_company_when_it_fits(
    body: str, tags: str, parts: list[str]
) -> None:
    result = fit(lambda text: f"{text}\n\n{tags}", body, rules_for("bluesky", limit=60), thread=True)
    assert result.parts == parts
    assert not result.problems


LONE_WORD = (
    "Hundreds of small boats left the English coast that week and every one of them took the long and "
    "dangerous way across the channel."
)


@pytest.mark.parametrize(
    ("limit", "body", "parts"),
    [
        (  # a greedy split would leave "channel. 2/2": the cut moves back to share the words evenly
            127,
            LONE_WORD,
            [
                "Hundreds of small boats left the English coast that week and every 1/2",
                "one of them took the long and dangerous way across the channel. 2/2",
            ],
        ),
        (  # ... and "channel. 3/3" here
            64,
            LONE_WORD,
            [
                "Hundreds of small boats left the English coast that week and 1/3",
                "every one of them took the long and 2/3",
                "dangerous way across the channel. 3/3",
            ],
        ),
        (  # with a sentence that fits, the last part takes the whole last sentence
            160,
            "The little ships sailed at dawn. " + LONE_WORD,
            ["The little ships sailed at dawn. 1/2", LONE_WORD + " 2/2"],
        ),
    ],
)
def test_the_last_part_of_a_thread_is_never_a_lone_word(limit: int, body: str, parts: list[str]) -> None:
    rules = rules_for("bluesky", limit=limit)
    result = fit(lambda text: text, body, rules, thread=True)
    assert result.parts == parts
    assert not result.problems


def test_a_last_word_that_cannot_take_more_stays() -> None:
    # the part before is one long word: no cut can move
    rules = rules_for("bluesky", limit=40)
    result = fit(lambda text: text, "Supercalifragilisticexpialidociously-long word.", rules, thread=True)
    assert result.parts == ["Supercalifragilisticexpialidociously-long 1/2", "word. 2/2"]


def test_a_thread_longer_than_max_parts_is_a_problem_with_its_first_parts() -> None:
    rules = rules_for("bluesky")
    body = " ".join(SENTENCES * 40)  # about 13,000 characters: 50-odd parts of 300
    unbounded = fit(render, body, rules, thread=True)
    bounded = fit(render, body, rules, thread=True, max_parts=25)
    needed = len(unbounded.parts)
    assert needed > 40
    assert len(bounded.parts) == 25
    assert bounded.problems[0] == (
        f"the thread needs about {needed} parts; the channel allows max_parts = 25: "
        "shorten the article or raise max_parts"
    )
    assert bounded.problems[1:] == []
    assert [part.rsplit(" ", 1)[1] for part in bounded.parts] == [f"{n}/{needed}" for n in range(1, 26)]
    assert all(rules.fits(part) for part in bounded.parts)
    within = fit(render, body, rules, thread=True, max_parts=needed)
    assert within == unbounded


def test_a_five_megabyte_article_costs_what_its_first_parts_cost() -> None:
    """Splitting stops after ``max_parts`` parts and one more: the rest of the article is never cut."""

    class CountingRules(LengthRules):
        calls = 0

        def slice_reach(self, text: str) -> Callable[[int, str], int | None]:
            return lambda start, suffix: None

        def fits(self, text: str) -> bool:
            CountingRules.calls += 1
            return super().fits(text)

    base = rules_for("mastodon")
    rules = CountingRules(base.network, base.limit, base.unit)
    calls = []
    for size in (100_000, 5_000_000):
        body = (" ".join(SENTENCES) + " ") * (size // 320)
        CountingRules.calls = 0
        result = fit(render, body, rules, thread=True, max_parts=25)
        calls.append(CountingRules.calls)
        assert len(result.parts) == 25
        assert result.problems[0].startswith("the thread needs about ")
        needed = int(result.problems[0].split()[4].replace(",", ""))
        assert abs(needed - len(body) / 470) < len(body) / 470 / 5  # a fair estimate: ~470 characters a part
    assert calls[0] == calls[1]


@pytest.mark.parametrize("network", ["bluesky", "mastodon", "telegram"])
def test_a_long_thread_within_max_parts_is_split_as_without_a_bound(network: str) -> None:
    rules = rules_for(network)
    body = "\n\n".join(" ".join(SENTENCES[i % 4 :] + SENTENCES[: i % 4]) for i in range(300))
    assert len(body) > 90_000  # more than the first region: the bounded split looks further, in steps
    unbounded = fit(render, body, rules, thread=True)
    assert not unbounded.problems
    assert fit(render, body, rules, thread=True, max_parts=len(unbounded.parts)) == unbounded
    over = fit(render, body, rules, thread=True, max_parts=len(unbounded.parts) - 1)
    assert len(over.parts) == len(unbounded.parts) - 1
    assert over.problems[0].startswith(f"the thread needs {len(unbounded.parts)} parts;")


def test_the_parts_of_a_thread_over_max_parts_are_cut_for_their_own_numbers() -> None:
    # 9 parts numbered "i/1" fill a part; numbered "i/10" they would be one character too long
    rules = rules_for("bluesky", limit=36)
    words = (
        "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau"
    )
    body = " ".join([words] * 3)
    assert len(fit(lambda text: text, body, rules, thread=True).parts) == 10
    bounded = fit(lambda text: text, body, rules, thread=True, max_parts=9)
    assert bounded.problems == [
        "the thread needs 10 parts; the channel allows max_parts = 9: shorten the article or raise max_parts"
    ]
    assert all(rules.fits(part) and part.endswith(f" {n}/10") for n, part in enumerate(bounded.parts, 1))


def test_a_template_that_frames_the_body_is_rendered_twice_to_shorten() -> None:
    """Once whole, once for the text kept: the search counts the frame around shorter bodies."""
    rendered: list[str] = []

    def render(body: str) -> str:
        rendered.append(body)
        return f"Title\n\n{body}\n\nhttps://example.com/a #Tag"

    body = " ".join(f"Sentence number {index} says a little more." for index in range(60))
    result = fit(render, body, rules_for("mastodon", limit=200))
    kept = body[: body.index(" Sentence number 4 ")]
    assert result.parts == [f"Title\n\n{kept}\n\nhttps://example.com/a #Tag"]
    assert result.shortened
    assert rendered == [body, kept]


def test_a_template_that_looks_at_the_body_is_searched_by_rendering() -> None:
    rendered: list[str] = []

    def render(body: str) -> str:
        rendered.append(body)
        return f"{len(body)} characters\n{body}"

    body = " ".join(f"Sentence number {index} says a little more." for index in range(60))
    result = fit(render, body, rules_for("mastodon", limit=200))
    kept = body[: body.index(" Sentence number 4 ")]
    assert result.parts == [f"{len(kept)} characters\n{kept}"]
    assert len(rendered) > 2
