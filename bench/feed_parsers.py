"""Benchmark: feedparser against fastfeedparser on the four feed formats tagcast reads, in the same process.

    python bench/feed_parsers.py [--items 2000] [--rounds 5]

Writes one generated feed of N items (long mixed-script HTML summaries, categories, an image each) as RSS 2.0,
RSS 1.0/RDF, Atom 1.0 and JSON Feed 1.1, parses each with both libraries, and prints for each format the
median parse time, the ratio fastfeedparser/feedparser, and whether every item came out with its id, title,
link, categories and image (a library that returns no items for a format "does not read it").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(REPO))  # a baseline checkout given there stays first
sys.path.insert(0, str(REPO / "tests"))

from fakes.feeds import WRITERS, FeedEntry  # noqa: E402

SUMMARY = (
    "<p>On 20 August 1939 Zhukov's <b>offensive</b> began at the Khalkhin Gol river &amp; "
    "encircled the 6th Army. Битва на Халхин-Голе; ノモンハン事件; معركة خالخين غول.</p>"
    "<p>The outcome shaped the Soviet-Japanese Neutrality Pact of 1941. 👩‍👩‍👧 " * 3 + "</p>"
)


def entries(count: int) -> list[FeedEntry]:
    return [
        FeedEntry(
            guid=f"urn:item:{index}",
            title=f"Moment {index}: the battle of Khalkhin Gol",
            link=f"https://history.example/moments/{index}",
            summary=SUMMARY,
            categories=("Khalkhin Gol", "Military-History", "WorldWarII"),
            image=f"https://history.example/img/{index}.jpg",
        )
        for index in range(count)
    ]


def _feedparser(data: bytes) -> list[dict[str, Any]]:
    import feedparser

    parsed = feedparser.parse(data)
    return [
        {
            "id": entry.get("id"),
            "title": entry.get("title"),
            "link": entry.get("link"),
            "tags": [tag.get("term") for tag in entry.get("tags", [])],
            "image": next(
                (link.get("href") for link in entry.get("links", []) if link.get("rel") == "enclosure"),
                None,
            )
            or next((media.get("url") for media in entry.get("media_content", [])), None),
        }
        for entry in parsed.entries
    ]


def _fastfeedparser(data: bytes) -> list[dict[str, Any]]:
    import fastfeedparser

    parsed = fastfeedparser.parse(data)
    return [
        {
            "id": entry.get("id"),
            "title": entry.get("title"),
            "link": entry.get("link"),
            "tags": [tag.get("term") for tag in entry.get("tags") or []],
            "image": entry.get("image")
            or next((e.get("url") for e in entry.get("enclosures") or []), None)
            or next((m.get("url") for m in entry.get("media_content") or []), None),
        }
        for entry in parsed.get("entries", [])
    ]


def _tagcast(data: bytes) -> list[dict[str, Any]]:
    from scheduler.articles.feed import parse_feed

    return [
        {"id": e.identity, "title": e.title, "link": e.link, "tags": list(e.categories), "image": e.image}
        for e in parse_feed(data, source="bench").entries
    ]


PARSERS: dict[str, Callable[[bytes], list[dict[str, Any]]]] = {
    "feedparser": _feedparser,
    "fastfeedparser": _fastfeedparser,
    "tagcast (chosen)": _tagcast,
}


def complete(items: list[dict[str, Any]], count: int, kind: str) -> str:
    if len(items) != count:
        return f"{len(items)}/{count} items"
    optional = {"image"} if kind == "rss1" else set()  # RSS 1.0 has no enclosure element
    missing = sorted({key for item in items for key, value in item.items() if not value} - optional)
    return "all fields" if not missing else "missing " + ",".join(missing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    generated = entries(args.items)
    print(f"{args.items} items, median of {args.rounds} rounds")
    for kind, write in WRITERS.items():
        data = write(generated)
        times: dict[str, list[float]] = {name: [] for name in PARSERS}
        found: dict[str, str] = {}
        for _ in range(args.rounds):
            for name, parse in PARSERS.items():
                start = time.perf_counter()
                try:
                    items = parse(data)
                except Exception as exc:  # a library that cannot read a format at all
                    items, found[name] = [], f"error {type(exc).__name__}"
                times[name].append(time.perf_counter() - start)
                found.setdefault(name, complete(items, args.items, kind))
        base = statistics.median(times["feedparser"])
        for name in PARSERS:
            median = statistics.median(times[name])
            print(
                f"{kind:9} {name:17} {median * 1000:8.1f} ms  x{median / base:5.2f} of feedparser  "
                f"{found[name]}  ({len(data) / 1e6:.1f} MB)"
            )


if __name__ == "__main__":
    main()
