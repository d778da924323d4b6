"""Download an article's https image once, bounded in size and time, into the workspace's media cache.

    path = fetch_image("https://example.org/photo.jpg", folder=root / "var/media/downloads")

The file is named by a hash of the URL, so a second preview (or the send, later) reads it from disk and
asks nothing of the network. Only https is fetched, redirects included (at most :data:`MAX_REDIRECTS`, each
to https); an answer over ``max_bytes``, or slower in all than ``deadline`` seconds (checked as each chunk
arrives), is refused, and nothing is kept of it. Every failure is an :class:`ImageFetchError` saying what
happened. Each hop goes only to an address ``addresses`` allows (:mod:`scheduler.media.addresses`: by
default no private, loopback or link-local address), the one it checked: a refused one is an
:class:`ImageAddressRefused`. Certificates are checked against the system's trust store (``SSL_CERT_FILE``
names another bundle, as for every httpx client).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

from scheduler.errors import UserError
from scheduler.lazy import httpx
from scheduler.media.addresses import AddressPolicy, PrivateAddressError, UnresolvableHostError
from scheduler.media.process import write_cache_file

USER_AGENT = "tagcast (image fetcher)"
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
"""The largest image downloaded (a camera photo is a few MB)."""
DOWNLOAD_DEADLINE = 30.0
"""Seconds one download may take in all: connect, headers, body and redirects."""
MAX_REDIRECTS = 5


class ImageFetchError(UserError):
    """An https image could not be downloaded this time (network, status, size, deadline)."""


class ImageAddressRefused(ImageFetchError):
    """An https image (or a redirect of it) is at an address that is not fetched (``[media]
    private_addresses``): the post goes without it."""


def cached_download(url: str, folder: Path) -> Path:
    """Where the download of ``url`` is kept (whether it exists yet or not)."""
    return folder / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".img")


def fetch_image(
    url: str,
    *,
    folder: Path,
    client: httpx.Client | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    deadline: float = DOWNLOAD_DEADLINE,
    monotonic: Callable[[], float] = time.monotonic,
    addresses: AddressPolicy | None = None,
) -> Path:
    """The cached file of ``url``, downloaded first if it is not cached yet (``addresses``: where it may be
    fetched from; default: public addresses only)."""
    target = cached_download(url, folder)
    if target.is_file():
        return target
    policy = addresses or AddressPolicy()
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(httpx.Client(headers={"User-Agent": USER_AGENT}))
        data = _download(
            client, url, max_bytes=max_bytes, deadline=deadline, monotonic=monotonic, addresses=policy
        )
    write_cache_file(target, data)
    return target


def _download(
    client: httpx.Client,
    url: str,
    *,
    max_bytes: int,
    deadline: float,
    monotonic: Callable[[], float],
    addresses: AddressPolicy,
) -> bytes:
    end = monotonic() + deadline
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        if not current.casefold().startswith("https://"):
            raise ImageFetchError(f"{url} redirects to {current}, which is not https: refused")
        left = end - monotonic()
        if left <= 0:
            raise ImageFetchError(f"{url} took longer than {deadline:g} s: refused")
        try:
            hop = addresses.pin(httpx.URL(current))
        except PrivateAddressError as exc:
            where = url if current == url else f"{url} redirects to {current}"
            raise ImageAddressRefused(f"{where}: {exc.message}", hint=exc.hint) from None
        except UnresolvableHostError as exc:
            raise ImageFetchError(f"{url} could not be downloaded: {exc.message}") from None
        except httpx.InvalidURL as exc:
            raise ImageFetchError(f"{url} could not be downloaded: {exc}") from None
        try:
            with client.stream(
                "GET",
                hop.url,
                headers=hop.headers,
                extensions=hop.extensions,
                timeout=left,
                follow_redirects=False,
            ) as response:
                if response.is_redirect and "location" in response.headers:
                    current = str(httpx.URL(current).join(response.headers["location"]))
                    continue
                if response.status_code != 200:
                    raise ImageFetchError(f"{url} answered HTTP {response.status_code}")
                return _read(
                    response, url, max_bytes=max_bytes, deadline=deadline, end=end, monotonic=monotonic
                )
        except httpx.TimeoutException:
            raise ImageFetchError(f"{url} did not answer within {deadline:g} s") from None
        except httpx.HTTPError as exc:
            raise ImageFetchError(f"{url} could not be downloaded: {type(exc).__name__}: {exc}") from None
    raise ImageFetchError(f"{url} redirected more than {MAX_REDIRECTS} times: refused")


def _read(
    response: httpx.Response,
    url: str,
    *,
    max_bytes: int,
    deadline: float,
    end: float,
    monotonic: Callable[[], float],
) -> bytes:
    too_big = f"{url} is larger than {max_bytes:,} bytes: refused"
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise ImageFetchError(too_big)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ImageFetchError(too_big)
        if monotonic() > end:
            raise ImageFetchError(f"{url} took longer than {deadline:g} s: refused")
        chunks.append(chunk)
    return b"".join(chunks)
