"""A feed entry's image becomes the article's image (``Article.images``) with the alt text the feed gives it
(``media:description``, else ``media:title``, else the enclosure's ``title``); ``[sources.NAME] image_alt``
says what an image the feed gives no alt text gets: nothing (``feed``), the entry's title, or left out."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fakes.images import ImageServer
from PIL import Image
from typer.testing import CliRunner

from scheduler.articles.feed import load_feed
from scheduler.cli.app import app
from scheduler.config.loader import load_workspace
from scheduler.feeds.poll import poll_source
from scheduler.media.model import ImageRef
from scheduler.pipeline import Pipeline
from scheduler.store import Store
from tests.conftest import WriteWorkspace

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>History</title>
<item><title>Map</title><link>https://history.example/map</link><guid>map</guid><description>d</description>
 <media:content url="https://history.example/map.jpg" medium="image" type="image/jpeg">
  <media:title>Map of the front</media:title>
  <media:description type="html">The front on &lt;b&gt;20 August&lt;/b&gt;
   1939 &amp;amp; the river</media:description></media:content></item>
<item><title>Tank</title><link>https://history.example/tank</link><guid>tank</guid><description>d</description>
 <media:content url="https://history.example/tank.png" medium="image"><media:title>A BT-7 tank</media:title>
 </media:content></item>
<item><title>River</title><link>https://history.example/river</link><guid>river</guid><description>d</description>
 <enclosure url="https://history.example/river.jpg" type="image/jpeg" length="1000"/></item>
<item><title>Audio</title><link>https://history.example/audio</link><guid>audio</guid><description>d</description>
 <enclosure url="https://history.example/talk.mp3" type="audio/mpeg" length="1000"/></item>
</channel></rss>
"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>History</title><id>urn:h</id>
<updated>2026-12-01T09:00:00Z</updated>
<entry><title>Steppe</title><id>urn:steppe</id><updated>2026-12-01T09:00:00Z</updated>
 <link href="https://history.example/steppe"/>
 <link rel="enclosure" type="image/png" href="https://history.example/steppe.png" title="The steppe at dawn"/>
 <summary>s</summary></entry></feed>
"""
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "History",
        "items": [
            {
                "id": "1",
                "url": "https://history.example/1",
                "title": "Camp",
                "content_text": "x",
                "image": "https://history.example/camp.jpg",
            }
        ],
    }
).encode()


def images(data: bytes, image_alt: str = "feed") -> dict[str | None, tuple[ImageRef, ...]]:
    from scheduler.articles.feed import feed_articles, parse_feed

    articles, errors = feed_articles(parse_feed(data, source="f"), file="f", image_alt=image_alt)
    assert errors == []
    return {article.title: article.images for article in articles}


def test_feed_images_and_their_alt_text_from_the_feed() -> None:
    assert images(RSS) == {
        "Map": (ImageRef("https://history.example/map.jpg", "The front on 20 August 1939 & the river"),),
        "Tank": (ImageRef("https://history.example/tank.png", "A BT-7 tank"),),
        "River": (ImageRef("https://history.example/river.jpg", None, optional=True),),
        "Audio": (),
    }
    assert images(ATOM) == {"Steppe": (ImageRef("https://history.example/steppe.png", "The steppe at dawn"),)}
    assert images(JSON_FEED) == {"Camp": (ImageRef("https://history.example/camp.jpg", None, optional=True),)}
    articles, _ = load_feed(RSS, source="history.xml")
    extra = {article.title: article.extra for article in articles}
    assert (extra["Map"]["image"], extra["Map"]["image_alt"]) == (
        "https://history.example/map.jpg",
        "The front on 20 August 1939 & the river",
    )
    assert "image_alt" not in extra["River"]


def test_image_alt_title_and_drop_decide_for_an_image_without_alt_text_only() -> None:
    titled = images(RSS, "title")
    assert titled["River"] == (ImageRef("https://history.example/river.jpg", "River"),)
    assert titled["Tank"] == (ImageRef("https://history.example/tank.png", "A BT-7 tank"),)  # the feed's wins
    assert images(JSON_FEED, "title") == {"Camp": (ImageRef("https://history.example/camp.jpg", "Camp"),)}
    dropped = images(RSS, "drop")
    assert dropped["River"] == ()
    assert dropped["Map"] == images(RSS)["Map"]


CONFIG = """\
[store]
url = "sqlite:///var/tagcast.db"

[channels.file]
network = "file"

[sources.history]
url = "feeds/history.xml"
backfill = 10
image_alt = "title"
"""


def test_a_source_with_image_alt_title_queues_the_title_as_alt_text(
    make_workspace: WriteWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_workspace(CONFIG)
    (root / "feeds").mkdir()
    with ImageServer(tmp_path / "tls").running() as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))  # the way a user trusts another CA
        for name in ("map.jpg", "tank.png", "river.jpg"):
            photo = io.BytesIO()
            Image.new("RGB", (40, 30), "olive").save(photo, "PNG" if name.endswith("png") else "JPEG")
            server.files[f"/{name}"] = photo.getvalue()
        base = server.url("/").encode()
        (root / "feeds" / "history.xml").write_bytes(RSS.replace(b"https://history.example/", base))
        stored = poll_and_list(root)
    assert stored["River"] == [{"src": server.url("/river.jpg"), "alt": "River"}]
    assert stored["Map"] == [
        {"src": server.url("/map.jpg"), "alt": "The front on 20 August 1939 & the river"}
    ]
    assert stored["Audio"] == []


def poll_and_list(root: Path) -> dict[str | None, object]:
    workspace = load_workspace(root / "config" / "tagcast.toml")
    now = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    with Store.open(workspace.settings.store.url, root=root) as store, httpx.Client() as client:
        poll_source("history", workspace, store, Pipeline(workspace), client, now=now)
        return {d.title: d.article["images"] for d in store.list(limit=10)}


def test_an_unknown_image_alt_is_a_config_error(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.replace('image_alt = "title"', 'image_alt = "titel"'))
    result = CliRunner().invoke(app, ["config", "validate", "--config", str(root)])
    assert result.exit_code == 1
    assert "image_alt" in result.output and "'title'" in result.output
