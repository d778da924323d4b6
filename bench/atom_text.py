"""Benchmark: what reading Atom text constructs by their type costs, against the same entries as RSS 2.0.

    python bench/atom_text.py [--items 2000] [--rounds 7]
    PYTHONPATH=/tmp/before python bench/atom_text.py      # another checkout's tagcast, for comparison

Writes one generated feed of N items (long mixed-script HTML summaries, categories, an image each) as RSS 2.0
and as Atom 1.0 (the same entries), reads each into articles with ``load_feed`` in turns in one process, and
prints the median time of each and the ratio Atom/RSS. An Atom feed is read once more by lxml (its titles,
summaries and contents with their ``type``, :mod:`scheduler.articles.atomtext`); an RSS feed is not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from fakes.feeds import atom, rss2  # noqa: E402
from feed_parsers import entries  # noqa: E402  (the same generated items as the parser benchmark)

from scheduler.articles.feed import load_feed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    made = entries(args.items)
    feeds = {"rss2": rss2(made), "atom": atom(made)}
    import scheduler

    print(f"{args.items} items, {args.rounds} rounds, tagcast from {Path(scheduler.__file__).parent.parent}")
    bodies: dict[str, list[str]] = {}
    times: dict[str, list[float]] = {kind: [] for kind in feeds}
    for number in range(args.rounds):
        for kind in list(feeds)[number % 2 :] + list(feeds)[: number % 2]:
            start = time.perf_counter()
            articles, errors = load_feed(feeds[kind], source=f"feed.{kind}")
            times[kind].append(time.perf_counter() - start)
            assert not errors and len(articles) == args.items, (kind, errors[:1])
            bodies[kind] = [article.body for article in articles]
    for kind, seconds in times.items():
        print(f"  {kind:5} median {statistics.median(seconds) * 1000:8.1f} ms  ({len(feeds[kind])} bytes)")
    ratio = statistics.median(times["atom"]) / statistics.median(times["rss2"])
    print(f"  ratio atom / rss2: {ratio:.2f}; same bodies: {bodies['atom'] == bodies['rss2']}")


if __name__ == "__main__":
    main()
