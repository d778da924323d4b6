"""Benchmark: splitting a huge article into a bounded thread against splitting all of it, in the same process.

    python bench/thread_bound.py [--megabytes 5] [--max-parts 25]

A channel with ``thread = true`` and ``max_parts`` refuses a thread longer than that; the split stops after
``max_parts + 1`` parts instead of cutting the whole article first. The baseline is the unbounded split of the
same text (what tagcast did before ``max_parts``). It prints both times per network and their ratio (the
bounded split should cost a small fraction, independent of the article's size).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scheduler.adapters.registry import rules_for  # noqa: E402
from scheduler.length.fit import fit  # noqa: E402

SENTENCES = (
    "The Battles of Khalkhin Gol were fought in the summer of 1939 on the Mongolian border. "
    "Soviet and Mongolian forces under Georgy Zhukov defeated the Japanese Sixth Army. "
    "The defeat pushed Japan towards a neutrality pact and a southern strategy. "
)


def render(body: str) -> str:
    return f"Khalkhin Gol, 1939\n\n{body}\n\nhttps://example.com/khalkhin-gol #KhalkhinGol #MilitaryHistory"


def timed(body: str, network: str, max_parts: int | None) -> tuple[float, int, str]:
    started = time.perf_counter()
    result = fit(render, body, rules_for(network), thread=True, max_parts=max_parts)
    elapsed = time.perf_counter() - started
    return elapsed, len(result.parts), result.problems[0] if result.problems else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=5.0)
    parser.add_argument("--max-parts", type=int, default=25)
    args = parser.parse_args()
    size = int(args.megabytes * 1_000_000)
    body = (SENTENCES * (size // len(SENTENCES) + 1))[:size]
    print(f"article: {len(body):,} characters; max_parts = {args.max_parts}")
    for network in ("bluesky", "x", "mastodon", "telegram"):
        baseline, parts, _ = timed(body, network, None)
        bounded, shown, problem = timed(body, network, args.max_parts)
        print(
            f"{network:9} unbounded {parts:6,} parts {baseline:7.3f} s | "
            f"bounded {shown} parts {bounded:7.3f} s | ratio {bounded / baseline:.4f} | "
            f"{problem.split(';')[0]}"
        )


if __name__ == "__main__":
    main()
