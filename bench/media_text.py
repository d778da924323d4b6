"""Benchmark: what reading Media RSS titles and descriptions by their ``type`` costs, against the same feed
with its images as enclosures (no Media RSS).

    python bench/media_text.py [--items 2000] [--rounds 7]
    mkdir /tmp/before && git archive main | tar -x -C /tmp/before
    python bench/media_text.py --baseline /tmp/before    # and: are the articles those of that checkout?

Writes the parser benchmark's generated items (long mixed-script HTML summaries, categories, an image each)
as RSS 2.0 three times: each image an ``enclosure``; a ``media:content`` with a ``media:description`` without
a ``type`` (plain text: no title or description in the feed has a type, so the parser's text is taken as it
is); the same with ``type="html"`` (the feed is read once more by lxml,
:mod:`scheduler.articles.mediatext`). Reads each into articles with ``load_feed`` in turns in one process,
and prints the median time of each and its ratio to the enclosure feed's.

``--baseline DIR`` reads the enclosure and the html feeds with DIR's tagcast too (in a process of its own)
and says whether the articles are the same: a feed without Media RSS, and html descriptions, read as before.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.environ.get("PYTHONPATH") or str(REPO))
sys.path.insert(1, str(REPO / "tests"))

from fakes.feeds import rss2  # noqa: E402
from feed_parsers import entries  # noqa: E402  (the same generated items as the parser benchmark)

from scheduler.articles.feed import load_feed  # noqa: E402

ENCLOSURE = b'type="image/jpeg" length="1000"/>'
DESCRIPTION = b">A &lt;b&gt;map&lt;/b&gt; of the front &amp;amp; the river</media:description>"
DESCRIPTION += b"</media:content>"


def feeds(items: int) -> dict[str, bytes]:
    plain = rss2(entries(items))

    def with_media(kind: bytes) -> bytes:
        media = plain.replace(b'<enclosure url="', b'<media:content medium="image" url="')
        return media.replace(ENCLOSURE, b"><media:description" + kind + DESCRIPTION)

    return {"enclosure": plain, "untyped": with_media(b""), "html": with_media(b' type="html"')}


def digest(data: bytes) -> str:
    """A hash of the articles of ``data``: titles, bodies, images with their alt text, extra keys."""
    articles, errors = load_feed(data, source="feed.xml")
    assert not errors, errors[:1]
    dump = [[a.title, a.body, [[i.src, i.alt] for i in a.images], a.extra] for a in articles]
    return hashlib.sha256(json.dumps(dump, default=str).encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", type=Path, help="another checkout's root, to compare articles with")
    parser.add_argument("--digest", help=argparse.SUPPRESS)  # the baseline's side: print the digest of a feed
    args = parser.parse_args()
    made = feeds(args.items)
    if args.digest:
        print(digest(made[args.digest]))
        return
    import scheduler

    print(f"{args.items} items, {args.rounds} rounds, tagcast from {Path(scheduler.__file__).parent.parent}")
    times: dict[str, list[float]] = {kind: [] for kind in made}
    for number in range(args.rounds):
        for kind in list(made)[number % 3 :] + list(made)[: number % 3]:
            start = time.perf_counter()
            articles, errors = load_feed(made[kind], source=f"{kind}.xml")
            times[kind].append(time.perf_counter() - start)
            assert not errors and len(articles) == args.items, (kind, errors[:1])
    base = statistics.median(times["enclosure"])
    for kind, seconds in times.items():
        median = statistics.median(seconds)
        print(f"  {kind:9} median {median * 1000:8.1f} ms  ratio to enclosure {median / base:.2f}")
    if args.baseline is not None:
        for kind in ("enclosure", "html"):
            environment = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
            theirs = subprocess.run(
                [sys.executable, __file__, "--items", str(args.items), "--digest", kind],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            print(f"  {kind}: same articles as {args.baseline}: {theirs == digest(made[kind])}")


if __name__ == "__main__":
    main()
