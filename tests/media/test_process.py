"""Images through Pillow as each network needs them: orientation, metadata, type, pixels, bytes, cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from scheduler.media.model import MediaLimits
from scheduler.media.process import ImageProblem, process_image, thumbnail

from .pictures import GPS_IFD, animated_gif, bomb_png, noisy_jpeg, oriented_jpeg, transparent_png

JPEG_ONLY = MediaLimits(mimes=("image/jpeg",))
PNG_OK = MediaLimits(mimes=("image/jpeg", "image/png"))


def test_a_photo_is_turned_upright_and_loses_its_exif_gps_and_comment(tmp_path: Path) -> None:
    source = oriented_jpeg(tmp_path / "photo.jpg")
    with Image.open(source) as before:
        assert before.getexif().get_ifd(GPS_IFD)  # the test photo does carry a position
    result = process_image(source, JPEG_ONLY, folder=tmp_path / "cache")
    assert (result.mime, result.width, result.height) == ("image/jpeg", 20, 40)
    with Image.open(result.path) as after:
        assert after.size == (20, 40)
        assert dict(after.getexif()) == {}
        assert after.getexif().get_ifd(GPS_IFD) == {}
        assert not {"exif", "comment", "xmp", "icc_profile"} & set(after.info)
        red, blue = after.convert("RGB").getpixel((10, 5)), after.convert("RGB").getpixel((10, 35))
    assert red[0] > 200 and red[2] < 50  # the stored left half (red) is on top once upright
    assert blue[2] > 200 and blue[0] < 50
    assert b"TestCam" not in result.path.read_bytes() and b"taken at home" not in result.path.read_bytes()
    assert result.path.name == f"{result.sha256}.jpg"
    assert result.size == result.path.stat().st_size


def test_transparency_is_put_on_white_for_a_jpeg_only_network(tmp_path: Path) -> None:
    result = process_image(transparent_png(tmp_path / "a.png"), JPEG_ONLY, folder=tmp_path / "cache")
    assert result.mime == "image/jpeg"
    with Image.open(result.path) as image:
        assert image.mode == "RGB"
        left, right = image.getpixel((5, 32)), image.getpixel((60, 32))
    assert min(left) > 245  # transparent became white, not black
    assert right[1] > 150 and right[0] < 60


def test_a_png_stays_a_png_with_its_alpha_where_the_network_takes_png(tmp_path: Path) -> None:
    result = process_image(transparent_png(tmp_path / "a.png"), PNG_OK, folder=tmp_path / "cache")
    assert result.mime == "image/png" and result.path.suffix == ".png"
    with Image.open(result.path) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((5, 32))[3] == 0


def test_a_huge_image_is_scaled_to_the_longest_side_and_the_pixel_count(tmp_path: Path) -> None:
    source = tmp_path / "wide.jpg"
    source.write_bytes(noisy_jpeg(6000, 500))
    telegram_like = MediaLimits(max_side=5000, mimes=("image/jpeg",))
    result = process_image(source, telegram_like, folder=tmp_path / "cache")
    assert (result.width, result.height) == (5000, 416)
    mastodon_like = MediaLimits(max_pixels=1_000_000, mimes=("image/jpeg",))
    result = process_image(source, mastodon_like, folder=tmp_path / "cache")
    assert result.width * result.height <= 1_000_000
    assert result.width / result.height == pytest.approx(12, rel=0.01)


def test_an_image_over_the_byte_limit_is_re_encoded_until_it_fits(tmp_path: Path) -> None:
    source = tmp_path / "grain.jpg"
    source.write_bytes(noisy_jpeg(1600, 1200, quality=95))
    assert source.stat().st_size > 600_000
    result = process_image(source, MediaLimits(max_bytes=150_000, mimes=("image/jpeg",)), folder=tmp_path)
    assert result.size <= 150_000
    assert result.path.stat().st_size == result.size
    assert result.width >= 400  # made smaller, but still a picture


def test_a_thumb_limit_overrides_the_network_limit(tmp_path: Path) -> None:
    source = tmp_path / "grain.jpg"
    source.write_bytes(noisy_jpeg(1600, 1200, quality=95))
    limits = MediaLimits(max_bytes=5_000_000, mimes=("image/jpeg",))
    full = process_image(source, limits, folder=tmp_path)
    thumb = process_image(source, limits, folder=tmp_path, max_bytes=100_000)
    assert full.size > 100_000 >= thumb.size


def test_the_second_time_reads_the_cache_and_does_not_open_the_file_with_pillow(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(noisy_jpeg(800, 600))
    first = process_image(source, JPEG_ONLY, folder=tmp_path / "cache")
    # Same size and modification time, but no longer an image: only the cache can answer now.
    stat = source.stat()
    source.write_bytes(b"x" * stat.st_size)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert process_image(source, JPEG_ONLY, folder=tmp_path / "cache") == first
    # Other limits are another entry: this time Pillow runs, and finds no image.
    with pytest.raises(ImageProblem, match="is not an image"):
        process_image(source, PNG_OK, folder=tmp_path / "cache")


def test_a_changed_file_is_processed_again(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(noisy_jpeg(300, 200, seed=1))
    first = process_image(source, JPEG_ONLY, folder=tmp_path / "cache")
    source.write_bytes(noisy_jpeg(300, 200, seed=2))
    os.utime(source, ns=(1, 1_000_000_000_000))
    assert process_image(source, JPEG_ONLY, folder=tmp_path / "cache").sha256 != first.sha256


def test_an_animated_gif_stays_animated_where_gif_is_taken_else_its_first_frame(tmp_path: Path) -> None:
    source = animated_gif(tmp_path / "spin.gif")
    kept = process_image(source, MediaLimits(mimes=("image/jpeg", "image/gif")), folder=tmp_path)
    assert kept.mime == "image/gif" and kept.path.read_bytes() == source.read_bytes()
    still = process_image(source, PNG_OK, folder=tmp_path)
    assert still.mime == "image/jpeg"
    with Image.open(still.path) as image:
        assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"just some text, not a picture", "is not an image (Pillow cannot read it)"),
        (noisy_jpeg(200, 200)[:400], "cannot be read: Truncated File Read"),
        (noisy_jpeg(200, 200)[:5000], "cannot be decoded: image file is truncated"),
    ],
)
def test_a_file_that_is_no_image_is_a_problem(tmp_path: Path, content: bytes, message: str) -> None:
    source = tmp_path / "bad.jpg"
    source.write_bytes(content)
    with pytest.raises(ImageProblem) as caught:
        process_image(source, JPEG_ONLY, folder=tmp_path)
    assert caught.value.message.startswith(message)


def test_a_decompression_bomb_is_refused_without_decoding_it(tmp_path: Path) -> None:
    with pytest.raises(ImageProblem) as caught:
        process_image(bomb_png(tmp_path / "bomb.png"), PNG_OK, folder=tmp_path)
    assert caught.value.message == "has more than 89,478,485 pixels; tagcast refuses images that large"


def test_a_thumbnail_is_small_and_cached(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    source.write_bytes(noisy_jpeg(1600, 1200))
    result = process_image(source, JPEG_ONLY, folder=tmp_path)
    data, mime = thumbnail(result.path, result.sha256, folder=tmp_path)
    assert mime == "image/jpeg" and len(data) < 120_000
    assert list((tmp_path / "thumbs").iterdir())
    assert thumbnail(result.path, result.sha256, folder=tmp_path) == (data, mime)


def test_the_last_decoded_photo_serves_the_next_network_and_never_another_photo(tmp_path: Path) -> None:
    from scheduler.media.process import LastDecoded

    last = LastDecoded()
    first, second = tmp_path / "a.jpg", tmp_path / "b.jpg"
    first.write_bytes(noisy_jpeg(1200, 300, seed=1))
    second.write_bytes(noisy_jpeg(300, 1200, seed=2))
    small = MediaLimits(max_side=600, mimes=("image/jpeg",))
    results = [
        process_image(source, limits, folder=tmp_path / "cache", last=last)
        for source in (first, second)
        for limits in (JPEG_ONLY, small)
    ]
    assert [(r.width, r.height) for r in results] == [(1200, 300), (600, 150), (300, 1200), (150, 600)]
    alone = process_image(first, small, folder=tmp_path / "other")
    assert alone.sha256 == results[1].sha256  # the same bytes as when decoded for the network before
