"""Benchmark: the images of a preview, cold and warm cache, against Pillow doing the same work alone.

    python bench/media.py [--articles 200] [--photos 8] [--networks bluesky,mastodon]

Makes a workspace of N Markdown articles, each with its own photo of about 3 MB (4000x3000 pixels, a
gradient under grain so that it does not compress away, saved at JPEG quality 90; ``--photos`` distinct
pictures, each file made unique by a JPEG comment, so that every file has its own content hash and is
processed on its own), and one channel per network. Then, in one process:

- cold: ``Pipeline(workspace).run()`` (what ``tagcast preview`` runs) with an empty media cache: every photo
  is read, hashed, turned upright, stripped, re-encoded to fit each network;
- warm: the same again, as a second preview would (a new Pipeline, the cache on disk);
- Pillow alone: for every photo and network, open, apply the EXIF orientation, scale to the size tagcast
  produced (when it differs) and save once, at the JPEG quality tagcast ended with (read back from the
  quantization tables of its output): the least work that gives the same files.

It prints each time and the ratios: Pillow alone / cold (goal >= 0.8) and cold / warm (goal >= 20).
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

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


def preview(root: Path) -> tuple[float, list[tuple[Path, Media]]]:
    started = time.perf_counter()
    result = Pipeline(load_workspace(root / "config" / "tagcast.toml")).run()
    elapsed = time.perf_counter() - started
    problems = [problem for post in result.posts for problem in post.problems] + result.errors
    if problems:
        raise SystemExit(f"the preview has problems: {problems[:3]}")
    done = [(root / "posts" / item.src, item) for post in result.posts for item in post.media]
    return elapsed, done


def quality_tables() -> dict[int, dict[int, list[int]]]:
    tables = {}
    for quality in range(1, 101):
        out = io.BytesIO()
        Image.new("RGB", (16, 16)).save(out, "JPEG", quality=quality)
        with Image.open(out) as image:
            tables[quality] = {key: list(value) for key, value in image.quantization.items()}  # type: ignore[attr-defined]
    return tables


def pillow_alone(done: list[tuple[Path, Media]]) -> float:
    tables = quality_tables()
    jobs = []
    for source, media in done:
        with Image.open(media.path) as image:
            found = {key: list(value) for key, value in image.quantization.items()}  # type: ignore[attr-defined]
        quality = next(q for q, table in tables.items() if table == found)
        jobs.append((source, (media.width, media.height), quality))
    started = time.perf_counter()
    for source, size, quality in jobs:
        with Image.open(source) as image:
            ImageOps.exif_transpose(image, in_place=True)
            pixels = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
            pixels.save(io.BytesIO(), "JPEG", quality=quality)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--networks", default="bluesky,mastodon")
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
        cold, done = preview(root)
        warm, again = preview(root)
        assert [media for _, media in again] == [media for _, media in done]
        alone = pillow_alone(done)
        out = {media.mime for _, media in done}
        largest = max(media.size for _, media in done)
        print(f"processed images: {len(done)} ({', '.join(sorted(out))}), largest {largest:,} bytes")
        print(f"cold preview:  {cold:8.2f} s")
        print(f"warm preview:  {warm:8.2f} s")
        print(f"Pillow alone:  {alone:8.2f} s")
        print(f"Pillow alone / cold = {alone / cold:.2f}  (goal >= 0.8)")
        print(f"cold / warm         = {cold / warm:.1f}  (goal >= 20)")


if __name__ == "__main__":
    main()
