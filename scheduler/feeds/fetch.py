"""Fetch one feed: a conditional GET (``If-None-Match`` / ``If-Modified-Since``), refused past ``max_bytes``
or past its deadline, or a local file (its modification time and size serve as its ETag).

Every failure is a :class:`FeedFetchError` whose message says what happened, in words for the log and
``tagcast status --check``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from scheduler.errors import UserError

USER_AGENT = "tagcast (feed poller)"


class FeedFetchError(UserError):
    """The feed could not be fetched this time (network, status, size, deadline); the next poll retries."""


@dataclass(frozen=True)
class Fetched:
    """``body`` None: not modified since the validators sent (a 304, or the same file)."""

    body: bytes | None
    etag: str | None
    last_modified: str | None


def is_remote(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def fetch_feed(
    client: httpx.Client,
    url: str,
    *,
    root: Path,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> Fetched:
    """Fetch ``url`` (or read the file it names, relative to ``root``)."""
    if not is_remote(url):
        return _read_file(root / url, etag)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, "
        "application/feed+json, application/xml;q=0.9, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    deadline = monotonic() + timeout
    try:
        with client.stream("GET", url, headers=headers, timeout=timeout, follow_redirects=True) as response:
            if response.status_code == 304:
                return Fetched(None, etag, last_modified)
            if response.status_code != 200:
                raise FeedFetchError(f"{url} answered HTTP {response.status_code}")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise FeedFetchError(_too_big(url, max_bytes))
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FeedFetchError(_too_big(url, max_bytes))
                if monotonic() > deadline:
                    raise FeedFetchError(f"{url} took longer than {timeout:g} s (the source's timeout)")
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks), response.headers.get("ETag"), response.headers.get("Last-Modified")
            )
    except httpx.TimeoutException:
        raise FeedFetchError(f"{url} did not answer within {timeout:g} s (the source's timeout)") from None
    except httpx.HTTPError as exc:
        raise FeedFetchError(f"{url} could not be fetched: {type(exc).__name__}: {exc}") from None


def _too_big(url: str, max_bytes: int) -> str:
    return f"{url} sent more than {max_bytes:,} bytes (the source's max_bytes): refused"


def _read_file(path: Path, etag: str | None) -> Fetched:
    try:
        stat = os.stat(path)
        signature = f"{stat.st_mtime_ns}-{stat.st_size}"
        if signature == etag:
            return Fetched(None, etag, None)
        return Fetched(path.read_bytes(), signature, None)
    except OSError as exc:
        raise FeedFetchError(f"cannot read {path}: {exc.strerror}") from None
