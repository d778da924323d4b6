"""Benchmark: every function that runs a regex over article, template, feed or server text, on hostile input.

    python bench/regexes.py [--small 10000] [--large 100000] [--only NAME]

Each function gets every input of :data:`HOSTILE` (repetitions of the characters regexes trip on: runs of
punctuation, spaces, ``#``, ``<``, dots, URL pieces...) at two sizes, and the bench prints the worst ratio of
the two times per function. A linear function scales with the size: about 10x for 10k -> 100k characters (up
to ~30x on a busy machine, where 10k fits in the CPU caches and 100k does not). A quadratic one shows 100x
and more, with seconds at 100k and minutes beyond. The same functions and inputs are fed to the test
``tests/hostile/test_regex_linear.py``, guarded there only by a generous timeout.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from hostile.regex_cases import FUNCTIONS, HOSTILE  # noqa: E402


def per_call(
    function: Callable[[str], object], text: str, *, at_least: float = 0.05, rounds: int = 3
) -> float:
    """Seconds per call: the best of ``rounds`` rounds, each repeating the call for ``at_least`` seconds."""
    best = float("inf")
    for _ in range(rounds):
        calls, start = 0, time.perf_counter()
        while True:
            function(text)
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= at_least:
                break
        best = min(best, elapsed / calls)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--only", default="", help="only functions whose name contains this")
    args = parser.parse_args()
    size_ratio = args.large / args.small
    header = f"{'function':<34} {'worst input':<24} {'small s':>9} {'large s':>9} {'ratio':>7}"
    print(f"{header}  (linear ~{size_ratio:.0f}x)")
    for name, function in FUNCTIONS.items():
        if args.only not in name:
            continue
        worst: tuple[float, str, float, float] = (0.0, "", 0.0, 0.0)
        for label, build in HOSTILE.items():
            function(build(args.small))  # warm-up: caches, lazily built tables
            small = per_call(function, build(args.small))
            large = per_call(function, build(args.large), at_least=0.0, rounds=1)
            # Under 5 ms at the large size the ratio says nothing (a fast path, a cache); such rows only
            # count when no input takes longer.
            ratio = large / small if large >= 0.005 else min(large / small, 1.0)
            if ratio > worst[0] or not worst[1]:
                worst = (ratio, label, small, large)
        ratio, label, small, large = worst
        print(f"{name:<34} {label:<24} {small:>9.4f} {large:>9.4f} {ratio:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
