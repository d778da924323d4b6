"""Benchmark: tagcast against feed2toot on one generated RSS feed, side by side in one run.

    python bench/feeds.py [--items 2000] [--rounds 3]

Generates an RSS 2.0 feed of N items with long mixed-script HTML summaries (Latin, Cyrillic, CJK, Arabic,
emoji ZWJ sequences) and categories, then, in turns, runs as separate processes (start-up included):

- ``tagcast preview FEED --json`` for one Mastodon channel (500 graphemes, exact counting);
- ``feed2toot --dry-run --all`` (installed from PyPI at run time into ``bench/.feed2toot/.venv``, never a
  dependency of tagcast), its toot format ``{title} {link} {summary}`` cut at 500 characters.

It prints the median wall time of each, the ratio tagcast/feed2toot (goal <= 0.5), the peak memory of each
(the process's max RSS), and what survives in the posts: the title, the link, the item's hashtags (all of
them, or none), and whether a post ends inside a grapheme cluster (a cut emoji sequence).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import venv
from pathlib import Path

import regex

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from fakes.feeds import FeedEntry, rss2  # noqa: E402

HERE = Path(__file__).resolve().parent
F2T_VENV = HERE / ".feed2toot" / ".venv"
LIMIT = 500
PARAGRAPHS = [
    "On 20 August 1939 Zhukov's <b>offensive</b> began at the Khalkhin Gol &amp; encircled the 6th Army.",
    "Битва на Халхин-Голе закончилась 16 сентября перемирием.",
    "ノモンハン事件は日本とソ連の国境紛争であった。",
    "معركة خالخين غول كانت نزاعًا حدوديًا.",
    "The families 👩‍👩‍👧 and 👨🏽‍🔬 scientists of the steppe remember it.",
    "It shaped the Soviet-Japanese Neutrality Pact of April 1941 and the course of the Second World War.",
]
CATEGORIES = [("Khalkhin Gol", "History"), ("Military-History",), ("World War II", "Mongolia", "USSR")]


def entries(count: int) -> list[FeedEntry]:
    made = []
    for index in range(count):
        rotated = PARAGRAPHS[index % 6 :] + PARAGRAPHS[: index % 6]
        summary = "".join(f"<p>{text}</p>" for text in rotated * 2)
        made.append(
            FeedEntry(
                guid=f"urn:bench:{index}",
                title=f"Moment {index}: Khalkhin Gol",
                link=f"https://history.example/moments/{index}",
                summary=summary,
                categories=CATEGORIES[index % 3],
            )
        )
    return made


def expected_tags(entry: FeedEntry) -> list[str]:
    return ["#" + "".join(w[:1].upper() + w[1:] for w in re.split(r"[\s-]+", c)) for c in entry.categories]


def ensure_feed2toot() -> Path:
    python = F2T_VENV / "bin" / "python"
    if not python.exists():
        print("installing feed2toot into", F2T_VENV, file=sys.stderr)
        venv.create(F2T_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "feed2toot==0.17"], check=True)
    return F2T_VENV / "bin" / "feed2toot"


def measured(command: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS in MiB (of the command alone, via a wrapper process), the result."""
    wrapper = textwrap.dedent("""\
        import json, resource, subprocess, sys, time
        start = time.perf_counter()
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        wall = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(json.dumps({"wall": wall, "peak": peak, "code": done.returncode,
                          "out": done.stdout, "err": done.stderr}))
    """)
    raw = subprocess.run(
        [sys.executable, "-c", wrapper, *command], cwd=cwd, capture_output=True, text=True, check=True
    )
    data = json.loads(raw.stdout)
    result = subprocess.CompletedProcess(command, data["code"], data["out"], data["err"])
    return data["wall"], data["peak"], result


def tagcast_posts(result: subprocess.CompletedProcess[str]) -> list[str]:
    if result.returncode != 0:
        raise SystemExit(f"tagcast failed: {result.stderr[-2000:]}")
    return ["\n".join(post["parts"]) for post in json.loads(result.stdout) if post["channel"]]


def feed2toot_posts(result: subprocess.CompletedProcess[str]) -> list[str]:
    chunks = re.split(r'Would toot with visibility "public":\s', result.stderr)[1:]
    return [chunk.rstrip("\n") for chunk in chunks]


def survival(posts: list[str], items: list[FeedEntry]) -> dict[str, int]:
    by_title = {entry.title: entry for entry in items}
    clusters = {cluster for text in PARAGRAPHS for cluster in regex.findall(r"\X", text)}
    counts = {"posts": len(posts), "title": 0, "link": 0, "all hashtags": 0, "cut grapheme": 0}
    for post in posts:
        entry = next((e for title, e in by_title.items() if title in post), None)
        if entry is None:
            continue
        counts["title"] += 1
        counts["link"] += entry.link in post
        counts["all hashtags"] += all(tag in post for tag in expected_tags(entry))
        words = regex.findall(r"\X", post.rstrip(".… \n"))
        last = words[-1] if words else ""
        counts["cut grapheme"] += not last.isascii() and last not in clusters and len(last.encode()) > 3
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    feed2toot = ensure_feed2toot()
    items = entries(args.items)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "config").mkdir()
        (root / "posts").mkdir()
        (root / "feed.xml").write_bytes(rss2(items))
        (root / "config" / "tagcast.toml").write_text(
            '[channels.masto]\nnetwork = "mastodon"\nbase_url = "https://masto.example"\n'
            f'limit = {LIMIT}\n\n[defaults]\nchannels = ["masto"]\n',
            encoding="utf-8",
        )
        (root / "feed2toot.ini").write_text(
            f"[rss]\nuri = {root / 'feed.xml'}\ntoot = {{title}} {{link}} {{summary}}\n"
            f"toot_max_len = {LIMIT}\n\n[cache]\ncachefile = {root / 'cache.db'}\n",
            encoding="utf-8",
        )
        tagcast_cmd = [sys.executable, "-m", "scheduler", "preview", "--json", str(root / "feed.xml")]
        f2t_cmd = [
            str(feed2toot),
            "-c",
            str(root / "feed2toot.ini"),
            "--dry-run",
            "--all",
            "-l",
            str(args.items),
        ]
        f2t_cmd += ["--lockfile", str(root / "f2t.lock")]
        walls: dict[str, list[float]] = {"tagcast": [], "feed2toot": []}
        peaks: dict[str, list[float]] = {"tagcast": [], "feed2toot": []}
        last: dict[str, list[str]] = {}
        for number in range(args.rounds):
            order = [("tagcast", tagcast_cmd), ("feed2toot", f2t_cmd)]
            for name, command in order if number % 2 == 0 else order[::-1]:
                wall, peak, result = measured(command, root)
                walls[name].append(wall)
                peaks[name].append(peak)
                last[name] = tagcast_posts(result) if name == "tagcast" else feed2toot_posts(result)
        ratio = statistics.median(walls["tagcast"]) / statistics.median(walls["feed2toot"])
        print(f"{args.items} items, {args.rounds} rounds; wall time median (s), peak RSS max (MiB)")
        for name, times in walls.items():
            print(
                f"  {name:9}  wall {statistics.median(times):6.2f} s  "
                f"(each: {', '.join(f'{w:.2f}' for w in times)})  peak {max(peaks[name]):6.1f} MiB  "
                f"survives: {survival(last[name], items)}"
            )
        print(f"  ratio tagcast / feed2toot wall time: {ratio:.2f} (goal <= 0.5)")
        print(
            f"  ratio tagcast / feed2toot peak memory: {max(peaks['tagcast']) / max(peaks['feed2toot']):.2f}"
        )


if __name__ == "__main__":
    main()
