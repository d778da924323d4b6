"""What every adapter refuses of a post's images before sending anything."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from media_files import image_media

from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.errors import PermanentDeliveryError
from scheduler.media.model import MediaLimits


def test_images_within_the_limits_pass(tmp_path: Path) -> None:
    refuse_unfit_media(MediaLimits(), image_media(tmp_path, 4), network="discord")
    refuse_unfit_media(None, (), network="pigeon")


def test_more_images_than_the_network_takes(tmp_path: Path) -> None:
    with pytest.raises(
        PermanentDeliveryError, match="discord: the images do not fit, nothing was sent: 5 images, at most 4"
    ):
        refuse_unfit_media(MediaLimits(), image_media(tmp_path, 5), network="discord")


def test_an_image_over_the_byte_limit(tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    with pytest.raises(
        PermanentDeliveryError,
        match=rf"image 1 \(images/photo1.jpg\) has {image.size} bytes, at most {image.size - 1}",
    ):
        refuse_unfit_media(MediaLimits(max_bytes=image.size - 1), (image,), network="facebook")


def test_an_alt_text_over_the_limit_and_none_when_the_network_has_no_alt(tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    long_alt = replace(image, alt="x" * 1001)
    with pytest.raises(
        PermanentDeliveryError, match="1001 characters of alt text, at most 1000; shorten it in the article"
    ):
        refuse_unfit_media(MediaLimits(alt_max=1000), (long_alt,), network="threads")
    refuse_unfit_media(MediaLimits(alt_max=None), (long_alt,), network="telegram")


def test_the_last_guard_counts_alt_text_as_the_network_does(tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1)
    family = replace(image, alt="\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466" * 1000)
    refuse_unfit_media(MediaLimits(alt_max=1000, alt_unit="graphemes"), (family,), network="bluesky")
    with pytest.raises(PermanentDeliveryError, match="7000 characters of alt text, at most 1000"):
        refuse_unfit_media(MediaLimits(alt_max=1000), (family,), network="x")


def test_a_network_without_images_refuses_them(tmp_path: Path) -> None:
    with pytest.raises(
        PermanentDeliveryError, match="pigeon: this network takes no images, but the post has 1"
    ):
        refuse_unfit_media(None, image_media(tmp_path, 1), network="pigeon")


def test_an_image_over_the_pixel_limit(tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1, size=(64, 48))  # 3072 pixels
    refuse_unfit_media(MediaLimits(max_pixels=3072), (image,), network="linkedin")
    with pytest.raises(PermanentDeliveryError) as caught:
        refuse_unfit_media(MediaLimits(max_pixels=3071), (image,), network="linkedin")
    assert caught.value.reason == (
        "linkedin: the images do not fit, nothing was sent: "
        "image 1 (images/photo1.jpg) has 3072 pixels (64x48), at most 3071"
    )


def test_an_image_over_the_side_limit(tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1, size=(48, 64))
    refuse_unfit_media(MediaLimits(max_side=64), (image,), network="telegram")
    with pytest.raises(PermanentDeliveryError) as caught:
        refuse_unfit_media(MediaLimits(max_side=63), (image,), network="telegram")
    assert caught.value.reason == (
        "telegram: the images do not fit, nothing was sent: "
        "image 1 (images/photo1.jpg) is 48x64 pixels, at most 63 on its longer side"
    )
