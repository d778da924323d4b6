"""``tagcast preview --html OUT.html`` and ``tagcast web``'s refusals, run as a user runs them."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.web.entities import segments

from .conftest import POSTS, write_workspace

BROKEN = "---\ntitle: Broken\npublish_at: the day after tomorrow\ntags: [History]\n---\n\nBody.\n"
LONG = "---\ntitle: " + "Very long title " * 22 + "\ntags: [History]\n---\n\nBody.\n"
"""A title no network with 300 graphemes can fit: the Bluesky post cannot be shortened."""


def run(root: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--config", str(root)])
    return result.exit_code, result.stdout, result.stderr


def test_preview_html_writes_one_page_with_a_card_per_post_that_loads_nothing(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    out = tmp_path / "preview.html"
    code, stdout, _ = run(root, "preview", "--now", "2027-01-11T08:00:00+01:00", "--html", str(out))
    assert code == 0
    assert stdout.strip() == f"wrote {out}: 6 posts from 2 articles, all valid"
    page = out.read_text(encoding="utf-8")
    assert page.count('<article class="card') == 6
    # self-contained: the page's own policy forbids every load but its style sheet and data: images
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert policy, "the page carries no policy"
    assert "default-src 'none'" in html.unescape(policy[1]) and "img-src data:" in policy[1]
    assert not re.search(r'<(?:script|link rel="stylesheet"|iframe)', page)
    assert not re.search(r'\ssrc="(?!data:)', page)
    # text stays text; hashtags, links and mentions are anchors as each network makes them
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
    assert '<a class="tag" href="https://bsky.app/hashtag/History"' in page
    assert '<a class="tag" href="https://social.example/tags/History"' in page
    assert '<a class="link" href="https://example.org/alpha"' in page
    assert '<a class="mention" href="https://museum.example/@curator"' in page
    assert '<time datetime="2027-01-11T09:00:00+01:00">Mon 2027-01-11 09:00 CET</time>' in page
    assert "<dt>Rule</dt><dd>history</dd>" in page
    assert '<main id="main">' in page and 'name="viewport"' in page
    assert "prefers-color-scheme: dark" in page


def test_unreadable_articles_and_posts_over_the_limit_are_problem_cards(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws", {**POSTS, "broken.md": BROKEN, "long.md": LONG})
    out = tmp_path / "preview.html"
    code, stdout, stderr = run(root, "preview", "--html", str(out))
    assert code == 0
    assert "1 article could not be read" in stdout
    page = out.read_text(encoding="utf-8")
    card = page[page.index("posts/broken.md") - 2000 : page.index("posts/broken.md") + 2000]
    assert "This article could not be read" in card
    assert 'class="card net-unreadable has-problems' in page
    assert re.search(r"<li>posts/broken\.md:3: [^<]*publish_at", page)
    assert "posts/broken.md:3" in stderr
    assert "1 with problems" in stdout
    assert '<p class="length too-long">368 / 300 graphemes: 68 over the limit</p>' in page
    assert "<li>368 graphemes, limit 300</li>" in page


def test_preview_html_to_a_folder_that_does_not_exist_is_a_clear_error(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    code, _, stderr = run(root, "preview", "--html", str(tmp_path / "missing" / "p.html"))
    assert code == 1
    assert f"cannot write {tmp_path / 'missing' / 'p.html'}" in " ".join(stderr.split())


def test_web_refuses_a_reachable_address_without_a_token(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    code, _, stderr = run(root, "web", "--host", "0.0.0.0")
    assert code == 2
    assert "refusing to serve the dashboard on 0.0.0.0" in " ".join(stderr.split())
    assert "TAGCAST_WEB_TOKEN" in stderr


def test_web_on_a_port_in_use_says_so(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, stderr = run(root, "web", "--port", str(port))
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in " ".join(stderr.split())


def test_anchors_follow_each_networks_own_detection() -> None:
    text = "See example.com and https://a.org/x. #History @bob@m.social"
    kinds = {n: [(s.kind, s.text) for s in segments(text, n) if s.href] for n in ("bluesky", "mastodon", "x")}
    # Bluesky: facets for tags and links (bare domains too); mentions need a DID lookup, so none
    assert kinds["bluesky"] == [("link", "example.com"), ("link", "https://a.org/x"), ("tag", "#History")]
    # Mastodon: only URLs with a scheme, and remote mentions
    assert kinds["mastodon"] == [
        ("link", "https://a.org/x"),
        ("tag", "#History"),
        ("mention", "@bob@m.social"),
    ]
    assert kinds["x"] == [("link", "example.com"), ("link", "https://a.org/x"), ("tag", "#History")]
    # Discord shows '#word' as text
    assert [s.kind for s in segments("#History https://a.org", "discord") if s.href] == ["link"]
    for network in ("bluesky", "mastodon", "x", "discord", "file"):
        assert "".join(s.text for s in segments(text, network)) == text


def test_preview_html_as_the_readme_shows_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_workspace(tmp_path / "ws")
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["preview", "--html", "preview.html"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote preview.html: 6 posts from 2 articles")
    assert (root / "preview.html").read_text(encoding="utf-8").count('<article class="card') == 6


def serve(root: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """Run ``tagcast web ARGS`` in ``root`` until the test is done; yield its address and first line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "web", *args],
        cwd=root,
        env={**os.environ, **(env or {})},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed once the port is bound
        match = re.search(r"http://[^:]+:(\d+)/", line)
        assert match, line + process.stderr.read()
        yield f"http://127.0.0.1:{match[1]}", line
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
        if process.stderr is not None:
            process.stderr.close()
    assert code == 130  # Ctrl-C, as every command exits on it


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, trust_env=False, **kwargs)


def test_web_serves_the_calendar_on_loopback(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    for address, line in serve(root, "--port", "0"):
        assert line.startswith("tagcast web: http://127.0.0.1:")
        page = get(address + "/")
        assert page.status_code == 200 and "Week " in page.text


def test_web_with_a_token_serves_any_address_to_those_who_bring_it(tmp_path: Path) -> None:
    root = write_workspace(tmp_path / "ws")
    for address, line in serve(
        root, "--host", "0.0.0.0", "--port", "0", env={"TAGCAST_WEB_TOKEN": "t0ken-xyz"}
    ):
        assert "t0ken-xyz" not in line
        assert get(address + "/").status_code == 401
        assert get(address + "/", headers={"Authorization": "Bearer t0ken-xyz"}).status_code == 200
