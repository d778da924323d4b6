"""What ``tagcast preview FEED`` loads: not httpx, Pillow's image code, SQLAlchemy or APScheduler, which it
does not use (they are most of the memory a preview would otherwise take, `docs/benchmarks.md`), for a
channel of every built-in network that makes no link card; and what it loads when a feature needs it.

Each preview runs in a fresh interpreter, as the command does, and reports the modules it ended with."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scheduler.lazy import LazyModule
from tests.conftest import WriteWorkspace
from tests.fakes.feeds import FeedEntry, rss2
from tests.media_files import image_bytes

HEAVY = ("httpx", "PIL.Image", "sqlalchemy", "apscheduler")
NETWORKS_WITHOUT_CARDS = """\
[channels.file]
network = "file"

[channels.masto]
network = "mastodon"
base_url = "https://masto.example"

[channels.x]
network = "x"

[channels.threads]
network = "threads"

[channels.fb]
network = "facebook"
page_id = "1234"

[channels.li]
network = "linkedin"

[channels.dc]
network = "discord"

[channels.sl]
network = "slack"

[channels.tg]
network = "telegram"

[channels.hook]
network = "webhook"
url = "https://hooks.example/in"
"""
CHANNELS = ["file", "masto", "x", "threads", "fb", "li", "dc", "sl", "tg", "hook"]
RUN = textwrap.dedent("""\
    import json, sys
    from scheduler.cli.main import main
    sys.argv = ["tagcast", *sys.argv[1:]]
    try:
        main()
    except SystemExit as exit:
        code = exit.code
    print(json.dumps({"code": code, "loaded": [name for name in %r if name in sys.modules]}), file=sys.stderr)
""") % (HEAVY,)


def preview(root: Path, *args: str) -> tuple[int, list[str], list[dict[str, object]]]:
    """Exit code, heavy modules loaded and posts of ``tagcast preview --json ARGS`` run in ``root``."""
    done = subprocess.run(
        [sys.executable, "-c", RUN, "preview", "--json", "--now", "2026-12-06T12:00:00+00:00", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["loaded"], json.loads(done.stdout)


def feed(root: Path) -> None:
    entries = [
        FeedEntry(
            guid=f"urn:moment:{number}",
            title=f"Moment {number}",
            link=f"https://history.example/moments/{number}",
            summary="<p>Zhukov&#8217;s <b>offensive</b> began &amp; encircled the 6th Army.</p>",
            categories=("Khalkhin Gol", "History"),
        )
        for number in range(3)
    ]
    (root / "feed.xml").write_bytes(rss2(entries))


def test_a_feed_preview_for_every_network_loads_no_http_image_database_or_scheduler_library(
    make_workspace: WriteWorkspace,
) -> None:
    root = make_workspace(NETWORKS_WITHOUT_CARDS + f"\n[defaults]\nchannels = {json.dumps(CHANNELS)}\n")
    feed(root)
    code, loaded, posts = preview(root, "feed.xml")
    assert code in (0, None)
    assert sorted({str(post["channel"]) for post in posts}) == sorted(CHANNELS)
    assert {str(post["source"]) for post in posts} == {f"feed.xml#urn:moment:{n}" for n in range(3)}
    assert "Zhukov’s offensive began & encircled the 6th Army." in str(posts[0]["parts"])
    assert loaded == []


def test_what_a_preview_uses_it_loads_an_image_is_read_by_pillow(
    make_workspace: WriteWorkspace,
) -> None:
    root = make_workspace(
        """\
        [channels.masto]
        network = "mastodon"
        base_url = "https://masto.example"

        [defaults]
        channels = ["masto"]
        """,
        {"photo.md": "---\ntitle: A photo\nimage: photo.jpg\nimage_alt: The steppe\n---\nThe steppe.\n"},
    )
    (root / "posts" / "photo.jpg").write_bytes(image_bytes(640, 480))
    code, loaded, posts = preview(root)
    assert code in (0, None)
    (post,) = posts
    assert post["media"]
    assert loaded == ["PIL.Image"]


def test_a_lazy_module_is_imported_when_first_read_then_read_as_the_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lazy = LazyModule("json.tool")
    assert repr(lazy) == "<lazy module 'json.tool' (not loaded yet)>"
    assert lazy.main is sys.modules["json.tool"].main
    assert repr(lazy) == "<lazy module 'json.tool' (loaded)>"
    monkeypatch.setattr(sys.modules["json.tool"], "main", print)  # a later change to the module is seen
    assert lazy.main is print


def test_a_disabled_channels_link_card_opens_no_outbox(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(
        """\
        [channels.bsky]
        network = "bluesky"
        enabled = false

        [defaults]
        channels = ["bsky"]
        """
    )
    feed(root)
    code, loaded, posts = preview(root, "feed.xml")
    assert code in (0, None)
    assert [post["card"]["uri"] for post in posts] == [
        f"https://history.example/moments/{number}" for number in range(3)
    ]
    assert not {"sqlalchemy", "apscheduler"} & set(loaded)  # a card made from the article alone reads no page
