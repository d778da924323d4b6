"""Benchmark: the images of a preview, cold and warm cache, against Pillow doing the same work alone.

    python bench/media.py [--articles 200] [--photos 8] [--networks bluesky,mastodon]

Makes a workspace of N Markdown articles, each with its own photo of about 3 MB (4000x3000 pixels, a
gradient under grain so that it does not compress away, saved at JPEG quality 90; ``--photos`` distinct
pictures, each file made unique by a JPEG comment, so that every file has its own content hash and is
processed on its own), and one channel per network. Then, in one process:

- cold: ``Pipeline(workspace).run(PATHS)`` (what ``tagcast preview PATHS`` runs) with an empty media cache:
  every photo is read, hashed, turned upright, stripped, re-encoded to fit each network;
- Pillow alone: for every photo and network, open, apply the EXIF orientation, scale to the size tagcast
  produced (when it differs) and save once, at the JPEG quality tagcast ended with (read back from the
  quantization tables of its output): the least work that gives the same files;
- warm: the previews again, as a second ``tagcast preview`` would (a new Pipeline, the cache on disk).

Cold and Pillow alone run in turns, ``--batch`` articles at a time, so that a change in the machine's load
weighs on both alike. It prints the wall and CPU time (this process, all threads) of each and the ratios:
Pillow alone / cold (goal >= 0.8) and cold / warm (goal >= 20). With several networks, tagcast decodes each
photo once for all of them (the pipeline keeps the last decoded image); ``--networks bluesky`` compares one
decode and one encode with one of each.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scheduler.config.loader import load_workspace  # noqa: E402
from scheduler.media.model import Media  # noqa: E402
from scheduler.pipeline import Pipeline  # noqa: E402

SIZE = (4000, 3000)


def photo(seed: int) -> bytes:
    """About 3 MB: three rotated gradients under shared grain, JPEG quality 90."""
    width, height = SIZE
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height))
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    bands = [Image.blend(base.rotate(angle).resize((width, height)), grain, 0.08) for angle in (0, 90, 180)]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, "JPEG", quality=90)
    return out.getvalue()


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same JPEG with a COM segment right after SOI: other bytes, the same pixels."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def workspace(root: Path, articles: int, photos: int, networks: list[str]) -> None:
    (root / "config").mkdir(parents=True)
    images = root / "posts" / "img"
    images.mkdir(parents=True)
    channels = "".join(
        f'[channels.{name}]\nnetwork = "{name}"\n' + ('handle = "bench.test"\n' if name == "bluesky" else "")
        for name in networks
    )
    (root / "config" / "tagcast.toml").write_text(
        f"[defaults]\nchannels = {networks!r}\n".replace("'", '"') + channels, encoding="utf-8"
    )
    bases = [photo(seed) for seed in range(photos)]
    for number in range(articles):
        (images / f"{number:04d}.jpg").write_bytes(with_comment(bases[number % photos], f"bench {number}"))
        (root / "posts" / f"{number:04d}.md").write_text(
            f"---\ntitle: Photo {number}\ntags: [Bench]\nimage: img/{number:04d}.jpg\n"
            f'image_alt: "Test photo number {number}"\n---\nA photo of something that happened.\n',
            encoding="utf-8",
        )


class Clock:
    """Wall time and this process's CPU time (all threads): on a shared machine the CPU time is the steadier
    of the two, since other processes' load changes wall time from one moment to the next."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def add(self, function: Callable[[], T]) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu
        return result


T = TypeVar("T")


def preview(root: Path, paths: list[Path]) -> list[tuple[Path, Media]]:
    """What ``tagcast preview PATHS`` runs; the media of every post, with their source files."""
    result = Pipeline(load_workspace(root / "config" / "tagcast.toml")).run(paths)
    problems = [problem for post in result.posts for problem in post.problems] + result.errors
    if problems:
        raise SystemExit(f"the preview has problems: {problems[:3]}")
    return [(root / "posts" / item.src, item) for post in result.posts for item in post.media]


def quality_tables() -> dict[int, dict[int, list[int]]]:
    tables = {}
    for quality in range(1, 101):
        out = io.BytesIO()
        Image.new("RGB", (16, 16)).save(out, "JPEG", quality=quality)
        with Image.open(out) as image:
            tables[quality] = {key: list(value) for key, value in image.quantization.items()}  # type: ignore[attr-defined]
    return tables


def pillow_jobs(
    done: list[tuple[Path, Media]], tables: dict[int, dict[int, list[int]]]
) -> list[tuple[Path, tuple[int, int], int]]:
    """For each processed image: its source, the size tagcast made and the JPEG quality it ended with."""
    jobs = []
    for source, media in done:
        with Image.open(media.path) as image:
            found = {key: list(value) for key, value in image.quantization.items()}  # type: ignore[attr-defined]
        quality = next(q for q, table in tables.items() if table == found)
        jobs.append((source, (media.width, media.height), quality))
    return jobs


def pillow_alone(jobs: list[tuple[Path, tuple[int, int], int]]) -> None:
    for source, size, quality in jobs:
        with Image.open(source) as image:
            ImageOps.exif_transpose(image, in_place=True)
            pixels = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
            pixels.save(io.BytesIO(), "JPEG", quality=quality)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--networks", default="bluesky,mastodon")
    parser.add_argument("--batch", type=int, default=20, help="articles per turn (cold, then Pillow)")
    args = parser.parse_args()
    networks = args.networks.split(",")
    with tempfile.TemporaryDirectory(prefix="tagcast-media-bench-") as folder:
        root = Path(folder) / "ws"
        started = time.perf_counter()
        workspace(root, args.articles, args.photos, networks)
        sizes = [path.stat().st_size for path in (root / "posts" / "img").iterdir()]
        print(
            f"{args.articles} articles, photos {SIZE[0]}x{SIZE[1]} of {min(sizes) / 1e6:.2f}-"
            f"{max(sizes) / 1e6:.2f} MB, networks {', '.join(networks)} "
            f"(made in {time.perf_counter() - started:.1f} s)"
        )
        shutil.rmtree(root / "var", ignore_errors=True)
        articles = sorted((root / "posts").glob("*.md"))
        batches = [articles[start : start + args.batch] for start in range(0, len(articles), args.batch)]
        tables = quality_tables()
        cold, alone, warm = Clock(), Clock(), Clock()
        done: list[tuple[Path, Media]] = []
        for batch in batches:  # in turns, so that the machine's load weighs on both alike
            processed = cold.add(lambda batch=batch: preview(root, batch))
            jobs = pillow_jobs(processed, tables)
            alone.add(lambda jobs=jobs: pillow_alone(jobs))
            done += processed
        again: list[tuple[Path, Media]] = []
        for batch in batches:
            again += warm.add(lambda batch=batch: preview(root, batch))
        assert [media for _, media in again] == [media for _, media in done]
        out = {media.mime for _, media in done}
        largest = max(media.size for _, media in done)
        print(f"processed images: {len(done)} ({', '.join(sorted(out))}), largest {largest:,} bytes")
        print(f"{'':14}{'wall':>9}{'cpu':>9}")
        for name, clock in (("cold preview", cold), ("warm preview", warm), ("Pillow alone", alone)):
            print(f"{name:14}{clock.wall:8.2f}s{clock.cpu:8.2f}s")
        print(
            f"Pillow alone / cold = {alone.wall / cold.wall:.2f} wall, {alone.cpu / cold.cpu:.2f} cpu"
            "  (goal >= 0.8)"
        )
        ratio = f"{cold.wall / warm.wall:.1f} wall, {cold.cpu / warm.cpu:.1f} cpu"
        print(f"cold / warm         = {ratio}  (goal >= 20)")


if __name__ == "__main__":
    main()
