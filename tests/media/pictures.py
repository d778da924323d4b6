"""Real image files for the media tests, made with Pillow: a photo with an EXIF orientation and a GPS
position, a PNG with transparency, noisy photos that do not compress away, an animated GIF."""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def oriented_jpeg(path: Path, *, orientation: int = 6) -> Path:
    """40x20 pixels stored (left half red, right half blue), shown 20x40 once the EXIF orientation 6 (rotate
    90 degrees clockwise) is applied; with a camera model, a GPS position and a comment."""
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "TestCam"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", exif=exif.tobytes(), comment=b"taken at home", quality=95)
    return path


def transparent_png(path: Path) -> Path:
    """64x64: the left half fully transparent, the right half opaque green."""
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image.paste((0, 200, 0, 255), (32, 0, 64, 64))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "PNG")
    return path


def noisy_jpeg(width: int, height: int, *, seed: int = 1, quality: int = 92) -> bytes:
    """A photo-like JPEG: a colour gradient under grain, so it stays large once compressed."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height))
    noise = Image.frombytes("L", (width, height), rng.randbytes(width * height))
    red = Image.blend(base, noise, 0.35)
    green = Image.blend(base.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.3)
    blue = Image.blend(base.transpose(Image.Transpose.ROTATE_90).resize((width, height)), noise, 0.4)
    out = io.BytesIO()
    Image.merge("RGB", (red, green, blue)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def animated_gif(path: Path) -> Path:
    frames = [Image.new("RGB", (30, 30), color) for color in ("red", "green", "blue")]
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path


def bomb_png(path: Path) -> Path:
    """A 1-bit PNG of 10,000 x 10,000 pixels: a few KB on disk, more pixels than Pillow opens safely."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("1", (10_000, 10_000)).save(path, "PNG")
    return path
