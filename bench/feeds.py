"""Benchmark: tagcast against feed2toot on one generated RSS feed, side by side in one run.

    python bench/feeds.py [--items 2000] [--rounds 3]

Generates an RSS 2.0 feed of N items with long mixed-script HTML summaries (Latin, Cyrillic, CJK, Arabic,
emoji ZWJ sequences) and categories, then, in turns, runs as separate processes (start-up included):

- ``tagcast preview FEED --json`` for one Mastodon channel (500 graphemes, exact counting);
- ``feed2toot --dry-run --all`` (installed from PyPI at run time into ``bench/.feed2toot/.venv``, never a
  dependency of tagcast), its toot format ``{title} {link} {summary}`` cut at 500 characters.

It prints every round, the median wall time of each, the ratio tagcast/feed2toot (goal <= 0.5), the peak
memory of each (the process's max RSS; goal: no more than feed2toot), and what survives in the posts: the
title, the link, the item's hashtags (all of them, or none), and whether a post ends inside a grapheme
cluster (a cut emoji sequence).

Both run from compiled bytecode, as after an install (pip compiles feed2toot's; ``compileall`` is run on
``scheduler/`` first, since a source checkout run with ``PYTHONDONTWRITEBYTECODE`` would compile its modules
at every start).

``--baseline DIR`` runs the tagcast of another checkout (``DIR/scheduler``) in the same turns, and checks
that its output is byte for byte the same as this one's::

    mkdir /tmp/before && git archive main | tar -x -C /tmp/before
    python bench/feeds.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
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
NOW = "2026-12-06T12:00:00+00:00"
"""Posts are planned from this time, so that two runs (or two checkouts) can be compared byte for byte."""
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


def measured(
    command: list[str], cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, peak RSS in MiB and CPU seconds (user + system) of the command alone (via a wrapper
    process), the result."""
    wrapper = textwrap.dedent("""\
        import json, resource, subprocess, sys, time
        start = time.perf_counter()
        done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
        wall = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
        print(json.dumps({"wall": wall, "peak": peak, "cpu": cpu, "code": done.returncode,
                          "out": done.stdout, "err": done.stderr}))
    """)
    raw = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(raw.stdout)
    result = subprocess.CompletedProcess(command, data["code"], data["out"], data["err"])
    return data["wall"], data["peak"], data["cpu"], result


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
    parser.add_argument("--baseline", type=Path, help="another checkout's tagcast, run in the same turns")
    args = parser.parse_args()
    feed2toot = ensure_feed2toot()
    checkouts = {"tagcast": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
    for checkout in checkouts.values():
        compileall.compile_dir(checkout / "scheduler", quiet=1)
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
        tagcast_cmd = [sys.executable, "-m", "scheduler", "preview", "--json", "--now", NOW, "feed.xml"]
        f2t_cmd = [str(feed2toot), "-c", str(root / "feed2toot.ini"), "--dry-run", "--all"]
        f2t_cmd += ["-l", str(args.items), "--lockfile", str(root / "f2t.lock")]
        runs: list[tuple[str, list[str], dict[str, str] | None]] = [
            (name, tagcast_cmd, {**os.environ, "PYTHONPATH": str(path)}) for name, path in checkouts.items()
        ]
        runs.append(("feed2toot", f2t_cmd, None))
        walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        cpus: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        peaks: dict[str, list[float]] = {name: [] for name, _, _ in runs}
        last: dict[str, subprocess.CompletedProcess[str]] = {}
        print(f"{args.items} items, {args.rounds} rounds (wall s, CPU s, peak RSS MiB)")
        for number in range(args.rounds):
            order = runs[number % len(runs) :] + runs[: number % len(runs)]
            for name, command, env in order:
                wall, peak, cpu, result = measured(command, root, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
                peaks[name].append(peak)
                last[name] = result
            print(
                f"  round {number + 1}: "
                + ", ".join(
                    f"{name} {walls[name][-1]:.2f} s {cpus[name][-1]:.2f} s {peaks[name][-1]:.1f} MiB"
                    for name, _, _ in runs
                )
            )
        print("medians:")
        for name, times in walls.items():
            posts = feed2toot_posts(last[name]) if name == "feed2toot" else tagcast_posts(last[name])
            wall, peak = statistics.median(times), statistics.median(peaks[name])
            print(
                f"  {name:9}  wall {wall:6.2f} s  CPU {statistics.median(cpus[name]):6.2f} s  "
                f"peak {peak:6.1f} MiB (max {max(peaks[name]):.1f})  "
                f"survives: {survival(posts, items)}"
            )
        f2t_wall, f2t_peak = statistics.median(walls["feed2toot"]), statistics.median(peaks["feed2toot"])
        f2t_cpu = statistics.median(cpus["feed2toot"])
        for name in checkouts:
            print(
                f"  ratio {name} / feed2toot: wall time {statistics.median(walls[name]) / f2t_wall:.2f} "
                f"(goal <= 0.5), CPU {statistics.median(cpus[name]) / f2t_cpu:.2f}, "
                f"peak memory {statistics.median(peaks[name]) / f2t_peak:.2f} (goal <= 1)"
            )
        if args.baseline:
            same = last["baseline"].stdout == last["tagcast"].stdout
            print(f"  output of baseline and tagcast: {'byte-identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
