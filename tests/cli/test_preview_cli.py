"""``tagcast preview`` and ``tagcast check`` through the real CLI app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from scheduler.cli.app import app
from tests.conftest import REPO, SHARED, WriteWorkspace

CONFIG = """\
[channels.file]
network = "file"

[channels.x]
network = "x"

[[rules]]
tags = ["History"]
channels = ["file", "x"]
"""

POSTS = {
    "ok.md": "---\ntitle: Fine\nurl: https://example.org/fine\ntags: [History]\n---\nA short body.\n",
    "broken.json": '{"title": "x", "body": \n',
}

CONTRACT_FIELDS = {
    "source",
    "channel",
    "network",
    "parts",
    "lengths",
    "limit",
    "scheduled_at",
    "rule",
    "problems",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_preview_json_follows_the_contract(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, out, err = run("preview", "--json", "--config", str(root), "--now", "2026-06-01T08:00:00+00:00")
    assert code == 0
    entries = json.loads(out)
    posts = [entry for entry in entries if entry["channel"] is not None]
    assert {(p["source"], p["channel"]) for p in posts} == {("posts/ok.md", "file"), ("posts/ok.md", "x")}
    for post in posts:
        assert set(post) >= CONTRACT_FIELDS
        assert post["problems"] == []
        assert post["scheduled_at"].startswith("2026-06-01T09:00:00")
        assert "+00:00" in post["scheduled_at"]
    x_post = next(p for p in posts if p["network"] == "x")
    assert x_post["limit"] == 280
    assert x_post["parts"][0].startswith("Fine")
    assert "posts/broken.json:2: invalid JSON" in err, "the broken article is reported with file and line"
    (broken,) = [entry for entry in entries if entry["channel"] is None]
    assert set(broken) == set(posts[0]), "an unreadable article has every key a post has"
    assert broken["source"] == "posts/broken.json"
    assert broken["problems"] == [
        'posts/broken.json:2: invalid JSON: Expecting value (column 1); remove the comma just before "]" '
        'or "}", or add the missing value'
    ]
    assert (broken["parts"], broken["lengths"], broken["active"]) == ([], [], False)
    assert broken["network"] is broken["limit"] is broken["scheduled_at"] is None


def test_preview_never_says_all_valid_when_an_article_cannot_be_read(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, out, err = run("preview", "--config", str(root), "--now", "2026-06-01T08:00:00+00:00")
    assert code == 0
    assert "all valid" not in out
    assert out.splitlines()[-1] == (
        "2 post(s) from 1 article(s), 1 article(s) could not be read (see stderr)"
    )
    assert "article error: posts/broken.json:2: invalid JSON" in err
    (root / "posts" / "broken.json").unlink()
    code, out, _ = run("preview", "--config", str(root), "--now", "2026-06-01T08:00:00+00:00")
    assert out.splitlines()[-1] == "2 post(s) from 1 article(s), all valid"


def test_check_json_lists_the_unreadable_articles_it_fails_for(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, out, _ = run("check", "--json", "--config", str(root))
    assert code == 1
    entries = json.loads(out)
    assert [(entry["source"], entry["channel"]) for entry in entries] == [("posts/broken.json", None)]
    assert set(entries[0]) >= CONTRACT_FIELDS
    assert entries[0]["problems"][0].startswith("posts/broken.json:2: invalid JSON")


def test_preview_for_people_shows_text_length_rule_and_slot(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, out, _ = run("preview", "--config", str(root), "-C", "x", "--now", "2026-06-01T08:00:00+00:00")
    assert code == 0
    assert "A short body." in out
    assert "/280 weighted" in out
    assert "2026-06-01 09:00" in out
    assert "rule rule-1" in out


def test_preview_paths_and_unknown_channel(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, out, _ = run("preview", str(root / "posts" / "ok.md"), "--json", "--config", str(root))
    assert code == 0 and len(json.loads(out)) == 2
    for command in ("preview", "check"):  # a usage error, exit 2, as in the queue and channels commands
        code, _, err = run(command, "--config", str(root), "-C", "nope")
        assert code == 2
        assert "no channel named 'nope'" in err


def test_check_exits_1_on_problems_and_0_when_clean(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG, POSTS)
    code, _, _ = run("check", "--config", str(root))
    assert code == 1, "an unreadable article fails the check"
    (root / "posts" / "broken.json").unlink()
    code, out, _ = run("check", "--config", str(root))
    assert code == 0, out
    (root / "posts" / "long-title.md").write_text(f"---\ntitle: {'Long ' * 70}\ntags: [History]\n---\nx\n")
    code, out, _ = run("check", "--json", "--config", str(root))
    assert code == 1
    bad = json.loads(out)
    assert [(p["source"], p["channel"]) for p in bad] == [("posts/long-title.md", "x")]
    assert "280" in bad[0]["problems"][0]


def test_config_error_exits_1_without_traceback(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG.replace('network = "x"', 'network = "x"\nmax_hashtags = "many"'), POSTS)
    code, _, err = run("preview", "--config", str(root))
    assert code == 1
    assert "channels.x.max_hashtags" in err and "tagcast.toml:6" in err
    assert "Traceback" not in err


def test_usage_error_exits_2() -> None:
    code, _, _ = run("preview", "--no-such-flag")
    assert code == 2


def test_shipped_workspace_previews_cleanly() -> None:
    code, out, err = run("check", "--config", str(REPO))
    assert code == 0, out + err


def test_python_dash_m_and_help_do_not_import_heavy_modules(tmp_path: Path) -> None:
    probe = (
        "import sys, runpy; sys.argv = ['tagcast', '--help']\n"
        "try:\n    runpy.run_module('scheduler', run_name='__main__')\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "heavy = ('jinja2', 'pydantic', 'sqlalchemy', 'httpx', 'regex', 'yaml')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    assert "preview" in done.stdout
    assert "HEAVY []" in done.stdout


def test_a_thread_longer_than_the_channels_max_parts_fails_the_check(make_workspace: WriteWorkspace) -> None:
    config = '[channels.bsky]\nnetwork = "bluesky"\nhandle = "a.test"\nthread = true\nmax_parts = 3\n'
    sentence = "Small boats crossed the channel again and again to bring the soldiers home. "
    root = make_workspace(
        '[defaults]\nchannels = ["bsky"]\n\n' + config,
        {"long.md": "---\ntitle: Long\n---\n" + sentence * 20},
    )
    code, out, _ = run("check", "--json", "--config", str(root))
    assert code == 1
    (post,) = json.loads(out)
    assert len(post["parts"]) == 3
    assert post["problems"] == [
        "the thread needs about 7 parts; the channel allows max_parts = 3: "
        "shorten the article or raise max_parts"
    ]
    (root / "config" / "tagcast.toml").write_text(
        '[defaults]\nchannels = ["bsky"]\n\n' + config.replace("max_parts = 3", "max_parts = 7")
    )
    code, out, _ = run("check", "--config", str(root))
    assert code == 0, out


def test_the_file_channel_keeps_the_explore_line_of_a_plain_text_article(
    make_workspace: WriteWorkspace,
) -> None:
    sample = (SHARED / "samples" / "article-plain-text.txt").read_text(encoding="utf-8")
    root = make_workspace('[channels.file]\nnetwork = "file"\n', {"stalin.txt": sample})
    code, out, err = run("preview", "--json", "--config", str(root))
    assert code == 0, err
    (post,) = json.loads(out)
    lines = post["parts"][0].splitlines()
    assert "Explore the Life Moments of Joseph Stalin" in lines
    assert "Reference: Battles of Khalkhin Gol" in lines


ONE_PART_CONFIG = """\
[channels.li]
network = "linkedin"
thread = true
limit = 200

[channels.li_short]
network = "linkedin"
limit = 200

[[rules]]
tags = ["History"]
channels = ["li", "li_short"]
"""


def test_a_network_of_one_part_refuses_a_thread_at_check_time(make_workspace: WriteWorkspace) -> None:
    """LinkedIn posts one part: a channel set to split gets a problem naming it and the fixes, at preview
    and check time (not only when the post is sent); a channel that shortens fits."""
    body = " ".join(f"Sentence {n} of a story that goes on." for n in range(20))
    root = make_workspace(ONE_PART_CONFIG, {"long.md": f"---\ntitle: Long\ntags: [History]\n---\n{body}\n"})
    code, out, _ = run("check", "--json", "--config", str(root), "--now", "2026-06-01T08:00:00+00:00")
    assert code == 1
    entries = {entry["channel"]: entry for entry in json.loads(out)}
    assert set(entries) == {"li"}
    assert len(entries["li"]["parts"]) == 5
    assert entries["li"]["problems"] == [
        "channel li: linkedin posts one part only, and this post needs 5 parts of at most 200 characters; "
        "shorten the article, set channels.li.thread = false (the text is then shortened to fit), or give "
        "the rule a template that fits in one part"
    ]
    code, out, _ = run("preview", "--json", "--config", str(root), "--now", "2026-06-01T08:00:00+00:00")
    short = next(entry for entry in json.loads(out) if entry["channel"] == "li_short")
    assert (len(short["parts"]), short["shortened"], short["problems"]) == (1, True, [])
