"""Benchmark: what the render budget costs, against a plain Jinja2 SandboxedEnvironment, in the same process.

    python bench/render.py [--articles 500] [--rounds 15]

Renders every shipped template (the built-ins and the workspace's ``config/templates``) for N generated
articles with three environments set up alike (same loader, filters and options): Jinja2's plain
``SandboxedEnvironment``; its ``ImmutableSandboxedEnvironment``, which tagcast's sandbox extends (the cost of
immutability alone); and tagcast's :class:`~scheduler.render.TemplateRenderer`, whose sandbox charges a
:class:`~scheduler.render.budget.RenderBudget` at every loop step, call, filter and output. A second set of
runs renders a template that loops over words and tags, calls methods and joins strings: the budget's worst
case among ordinary templates. Each round times the three once, in rotating order; the ratios are budgeted
time over each of the other two in the same round, their median over the rounds (goal against the plain
sandbox: at most 1.5 on the shipped templates).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scheduler.models import Article, Hashtag  # noqa: E402
from scheduler.render import BUILTIN_TEMPLATES, FILTERS, TemplateRenderer, build_context  # noqa: E402

WORKSPACE_TEMPLATES = REPO / "config" / "templates"
WORDS = ["army", "river", "border", "treaty", "winter", "supply", "cavalry", "bridge", "archive", "comet"]
TAGS = ["MilitaryHistory", "History", "WorldWarII", "KhalkhinGol", "Science", "Astronomy", "Physics", "Maps"]
LOOPING = (
    "{{ title }}\n{% for tag in tags %}{{ '#' ~ tag.text }}{% if not loop.last %} {% endif %}{% endfor %}\n"
    "{% for word in body.split()[:40] %}{{ word | upper if loop.index is even else word }} {% endfor %}\n"
    "{{ [url, channel, network] | join(' | ') }} {{ '%s/%s' % (limit, tags | length) }}"
)


def articles(count: int) -> list[Article]:
    rng = random.Random(1939)
    out = []
    for index in range(count):
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 18))).capitalize() + "."
            for _ in range(rng.randint(1, 20))
        ]
        out.append(
            Article(
                source=f"posts/a{index}.md",
                title=f"Generated article {index}",
                body=" ".join(sentences),
                url=f"https://example.org/articles/{index}",
                hashtags=tuple(Hashtag(tag) for tag in rng.sample(TAGS, rng.randint(1, 4))),
            )
        )
    return out


def template_names(folder: Path) -> list[str]:
    names = {path.name for path in BUILTIN_TEMPLATES.glob("*.j2")} | {
        path.name for path in WORKSPACE_TEMPLATES.glob("*.j2")
    }
    names.discard("base.j2")
    return sorted(names)


def contexts(items: list[Article], network: str) -> list[dict[str, Any]]:
    return [
        build_context(a, body=a.body, tags=list(a.hashtags), channel="c", network=network, limit=500)
        for a in items
    ]


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def rounds_of(count: int, runs: list[Callable[[], None]]) -> list[list[float]]:
    """``count`` rounds, each timing every run once, in an order that rotates from round to round (so that a
    busy spell of the machine falls on all of them alike): per round, the seconds of each run."""
    out = []
    for number in range(count):
        order = [(number + shift) % len(runs) for shift in range(len(runs))]
        seconds = [0.0] * len(runs)
        for index in order:
            seconds[index] = timed(runs[index])
        out.append(seconds)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    items = articles(args.articles)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in WORKSPACE_TEMPLATES.glob("*.j2"):
            (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
        (folder / "looping.j2").write_text(LOOPING, encoding="utf-8")
        names = template_names(folder)

        options: dict[str, Any] = {
            "loader": ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(BUILTIN_TEMPLATES)]),
            "undefined": StrictUndefined,
            "autoescape": False,
            "trim_blocks": True,
            "lstrip_blocks": True,
            "extensions": ["jinja2.ext.loopcontrols"],
        }
        plain = SandboxedEnvironment(**options)
        immutable = ImmutableSandboxedEnvironment(**options)
        for env in (plain, immutable):
            env.filters.update(FILTERS)
        budgeted = TemplateRenderer(folder)

        jobs = [(name, context) for name in names for context in contexts(items, name.removesuffix(".j2"))]
        loops = [("looping.j2", context) for context in contexts(items, "x")]

        def run_plain(
            work: list[tuple[str, dict[str, Any]]], env: SandboxedEnvironment
        ) -> Callable[[], None]:
            return lambda: [env.get_template(name).render(context) for name, context in work] and None

        def run_budgeted(work: list[tuple[str, dict[str, Any]]]) -> Callable[[], None]:
            return lambda: [budgeted.render(name, context) for name, context in work] and None

        rows = []
        for label, work in (("shipped templates", jobs), ("looping template", loops)):
            for warm_up in (run_plain(work, plain), run_plain(work, immutable), run_budgeted(work)):
                warm_up()  # compile
            runs = [run_plain(work, plain), run_plain(work, immutable), run_budgeted(work)]
            rows.append((label, len(work), rounds_of(args.rounds, runs)))

    print(f"articles: {args.articles}, templates: {', '.join(names)}; {args.rounds} rounds")
    for label, count, measured in rows:
        base, unbudgeted, mine = (min(seconds[i] for seconds in measured) for i in range(3))
        print(
            f"{label}, {count} renders a round, best round: SandboxedEnvironment {count / base:,.0f}/s, "
            f"ImmutableSandboxedEnvironment {count / unbudgeted:,.0f}/s, "
            f"tagcast (budgeted) {count / mine:,.0f}/s"
        )
        for name, index in (("plain sandbox", 0), ("immutable sandbox", 1)):
            ratios = sorted(seconds[2] / seconds[index] for seconds in measured)
            print(
                f"  budgeted time / {name}: median {statistics.median(ratios):.2f} "
                f"(rounds {ratios[0]:.2f}-{ratios[-1]:.2f})"
            )


if __name__ == "__main__":
    main()
