"""What the feed tests share: a feed server on loopback (`server`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.feeds import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    feed = FeedServer()
    yield feed
    feed.close()
