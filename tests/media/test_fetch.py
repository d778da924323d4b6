"""Downloads of https images: once, cached by URL, bounded in size and time, https only."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest
from fakes.images import ImageServer
from intranet import allow_private

from scheduler.media.fetch import ImageFetchError, cached_download, fetch_image

from .pictures import noisy_jpeg

ALLOW = allow_private()

PHOTO = noisy_jpeg(64, 48)


def test_an_image_is_downloaded_once_then_read_from_the_cache(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/photo.jpg"] = PHOTO
    url = trusted.url("/photo.jpg")
    path = fetch_image(url, folder=tmp_path, addresses=ALLOW)
    assert path == cached_download(url, tmp_path) and path.read_bytes() == PHOTO
    assert fetch_image(url, folder=tmp_path, addresses=ALLOW) == path
    assert trusted.requests == ["/photo.jpg"]


def test_a_server_whose_certificate_is_not_trusted_is_refused(
    image_server: ImageServer, tmp_path: Path
) -> None:
    image_server.files["/photo.jpg"] = PHOTO
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(image_server.url("/photo.jpg"), folder=tmp_path, addresses=ALLOW)
    assert "ConnectError" in caught.value.message and "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    assert not list(tmp_path.iterdir())


def test_an_error_status_is_a_problem_and_nothing_is_kept(trusted: ImageServer, tmp_path: Path) -> None:
    url = trusted.url("/gone.jpg")
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(url, folder=tmp_path, addresses=ALLOW)
    assert caught.value.message == f"{url} answered HTTP 404"
    assert not cached_download(url, tmp_path).exists()


def test_an_image_over_the_size_cap_is_refused(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/big.jpg"] = PHOTO
    url = trusted.url("/big.jpg")
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(url, folder=tmp_path, max_bytes=len(PHOTO) - 1, addresses=ALLOW)
    assert caught.value.message == f"{url} is larger than {len(PHOTO) - 1:,} bytes: refused"
    assert not cached_download(url, tmp_path).exists()


def test_a_download_past_its_deadline_is_refused(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/slow.jpg"] = PHOTO
    url = trusted.url("/slow.jpg")
    ticks = itertools.count(0, 20)  # each look at the clock is 20 s later: the body comes after 30 s
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(url, folder=tmp_path, deadline=30, monotonic=lambda: float(next(ticks)), addresses=ALLOW)
    assert caught.value.message == f"{url} took longer than 30 s: refused"


def test_a_redirect_is_followed_only_to_https(trusted: ImageServer, tmp_path: Path) -> None:
    trusted.files["/real.jpg"] = PHOTO
    trusted.redirects["/moved.jpg"] = "/real.jpg"
    assert fetch_image(trusted.url("/moved.jpg"), folder=tmp_path, addresses=ALLOW).read_bytes() == PHOTO
    trusted.redirects["/plain.jpg"] = "http://127.0.0.1:9/real.jpg"
    with pytest.raises(ImageFetchError) as caught:
        fetch_image(trusted.url("/plain.jpg"), folder=tmp_path, addresses=ALLOW)
    assert caught.value.message == (
        f"{trusted.url('/plain.jpg')} redirects to http://127.0.0.1:9/real.jpg, which is not https: refused"
    )


def test_a_given_client_is_used(image_server: ImageServer, tmp_path: Path) -> None:
    image_server.files["/photo.jpg"] = PHOTO
    with httpx.Client(verify=image_server.client_context()) as client:
        path = fetch_image(image_server.url("/photo.jpg"), folder=tmp_path, client=client, addresses=ALLOW)
    assert path.read_bytes() == PHOTO
