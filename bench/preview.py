"""Benchmark: the whole preview pipeline against a bare render-and-count baseline, in the same process.

    python bench/preview.py [--articles 10000]

Writes N generated Markdown articles into a temporary copy of the shipped workspace, then times
``Pipeline(workspace).run()`` (load, route, render, fit, plan) for every shipped channel. The baseline renders
the same templates for the same (article, channel) pairs with a bare ``SandboxedEnvironment`` and counts
graphemes once per text. It prints both throughputs (posts per second) and their ratio (goal: >= 0.5).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import regex
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scheduler.config.loader import load_workspace  # noqa: E402
from scheduler.pipeline import Pipeline  # noqa: E402
from scheduler.render import BUILTIN_TEMPLATES, FILTERS, build_context  # noqa: E402

WORDS = [
    "army",
    "river",
    "border",
    "treaty",
    "winter",
    "supply",
    "cavalry",
    "bridge",
    "archive",
    "telescope",
    "comet",
    "orbit",
    "lens",
    "voyage",
    "harbour",
    "engine",
    "signal",
    "cipher",
    "island",
    "valley",
    "plateau",
    "steppe",
    "frontier",
    "garrison",
    "observatory",
]
TAGS = ["MilitaryHistory", "History", "WorldWarII", "KhalkhinGol", "Science", "Astronomy", "Physics", "Maps"]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + "."


def article_text(rng: random.Random, index: int) -> str:
    long_body = rng.random() < 0.3
    body = " ".join(sentence(rng) for _ in range(rng.randint(12, 30) if long_body else rng.randint(1, 3)))
    tags = rng.sample(TAGS, rng.randint(1, 4))
    return (
        "---\n"
        f"title: Generated article {index}\n"
        f"url: https://example.org/articles/{index}\n"
        f"tags: [{', '.join(tags)}]\n"
        "---\n"
        f"{body}\n"
    )


def make_workspace(folder: Path, count: int) -> Path:
    shutil.copytree(REPO / "config", folder / "config")
    posts = folder / "posts"
    posts.mkdir()
    rng = random.Random(1939)
    for index in range(count):
        (posts / f"a{index:05d}.md").write_text(article_text(rng, index), encoding="utf-8")
    return folder


def run_pipeline(root: Path) -> tuple[int, float]:
    start = time.perf_counter()
    result = Pipeline(load_workspace(root)).run(now=datetime(2026, 12, 1, tzinfo=UTC))
    return len(result.posts), time.perf_counter() - start


def run_baseline(root: Path) -> tuple[int, float]:
    workspace = load_workspace(root)
    pipeline = Pipeline(workspace)
    articles, _ = pipeline.load()
    jobs = [
        (article, post.channel, post.network, post.template)
        for article in articles
        for post in pipeline.compose(article)
    ]
    env = SandboxedEnvironment(
        loader=FileSystemLoader([root / "config" / "templates", BUILTIN_TEMPLATES]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    contexts = [
        (
            env.get_template(template),
            build_context(a, body=a.body, tags=list(a.hashtags), channel=c, network=n, limit=500),
        )
        for a, c, n, template in jobs
    ]
    start = time.perf_counter()
    for template, context in contexts:
        text = template.render(context)
        len(regex.findall(r"\X", text))
    return len(contexts), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_workspace(Path(tmp), args.articles)
        base_posts, base_seconds = run_baseline(root)
        posts, seconds = run_pipeline(root)
    base_rate = base_posts / base_seconds
    rate = posts / seconds
    print(f"articles:  {args.articles}")
    print(
        f"baseline:  {base_posts} posts in {base_seconds:.2f} s = {base_rate:,.0f} posts/s "
        "(bare sandboxed render + grapheme count)"
    )
    print(
        f"pipeline:  {posts} posts in {seconds:.2f} s = {rate:,.0f} posts/s (load, route, render, fit, plan)"
    )
    print(f"ratio:     {rate / base_rate:.2f} (goal >= 0.5)")


if __name__ == "__main__":
    main()
