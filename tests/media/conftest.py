from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.images import ImageServer
from link_site import site, store  # noqa: F401  (fixtures: the fake web site of link pages, an outbox)
from service.conftest import webhook  # noqa: F401  (fixture: a webhook receiver)


@pytest.fixture
def image_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageServer]:
    """A loopback HTTPS server for images, with its own CA (``image_server.ca_file``)."""
    with ImageServer(tmp_path_factory.mktemp("tls")).running() as server:
        yield server


@pytest.fixture
def trusted(image_server: ImageServer, monkeypatch: pytest.MonkeyPatch) -> ImageServer:
    """The image server, with its CA trusted the way a user names one: ``SSL_CERT_FILE``."""
    monkeypatch.setenv("SSL_CERT_FILE", str(image_server.ca_file))
    return image_server


@pytest.fixture
def cache_folder(tmp_path: Path) -> Path:
    return tmp_path / "var" / "media"
