"""Bad values in articles: each is a problem naming the file, the line and the key, and never a crash; the
other articles (other files, other items of a JSON list) still load."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.articles import load_articles
from scheduler.errors import ArticleError

GOOD = "---\ntitle: Good one\ntags: [Science]\n---\nText.\n"


def load(tmp_path: Path, files: dict[str, str], **options: object) -> tuple[list[str], list[ArticleError]]:
    folder = tmp_path / "posts"
    for name, text in {"good.md": GOOD, **files}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    result = load_articles([folder], root=tmp_path, **options)  # type: ignore[arg-type]
    return [article.source for article in result.articles], result.errors


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("publish_at: 2020-13-45T00:00:00Z", "publish_at: 2020-13-45T00:00:00Z is not a real date"),
        ("published: 2024-02-30", "published: 2024-02-30 is not a real date"),
        ("updated: 2024-02-30", "updated: 2024-02-30 is not a real date"),
        ("publish_at: 2027-01-01T00:00:00+25:00", "is not a real date and time"),
        ('publish_at: "2027-01-01T00:00:00+25:00"', "is not an ISO 8601 date and time"),
        ("publish_at: 9999-12-31T23:00:00-05:00", "publish_at: the year 9999 is out of range"),
        ('publish_at: "9999-12-31T23:00:00-05:00"', "publish_at: the year 9999 is out of range"),
        ("published: 9999-12-31T23:00:00-05:00", "the year 9999 is out of range"),
        ("updated: 9999-12-31T23:00:00-05:00", "updated: the year 9999 is out of range"),
        ("published: 0001-01-01", "the year 1 is out of range"),
        ("count: " + "9" * 5000, "count: a number of 5000 characters is too long"),
        ("count: " + "9" * 30, "count: a number of 30 digits is too large"),
        ("ratio: .nan", "ratio: nan is not a number a post can show"),
        ("ratio: -.inf", "ratio: -inf is not a number a post can show"),
        ("loop: &a [*a]", "loop: lists or mappings nested more than 20 levels deep"),
        ("deep: " + "[" * 30 + "]" * 30, "deep: lists or mappings nested more than 20 levels deep"),
        ("blob: !!binary aGVsbG8=", "blob: binary data (!!binary) is not supported"),
        ("set: !!set {a, b}", "set: a set (!!set) is not supported"),
        ("title: [1, 2]", "title: expected text, got a list"),
        ("title: " + "9" * 40, "title: a number of 40 digits is too large"),
    ],
)
def test_a_bad_value_is_a_problem_at_its_line(tmp_path: Path, line: str, words: str) -> None:
    loaded, errors = load(tmp_path, {"bad.md": f"---\ntitle: Bad\nurl: https://x.org\n{line}\n---\nText.\n"})

    assert loaded == ["posts/good.md"]
    assert [(error.source, error.line) for error in errors] == [("posts/bad.md", 4)]
    assert words in errors[0].message
    assert errors[0].hint


def test_billion_laughs_is_refused_without_building_it(tmp_path: Path) -> None:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    loaded, errors = load(tmp_path, {"bad.md": "---\ntitle: Laughs\n" + "\n".join(lines) + "\n---\nText\n"})

    assert loaded == ["posts/good.md"]
    assert {error.line for error in errors} == {7, 8, 9, 10, 11}  # e: (9 lists of 9) 9 times over
    assert all("holds more than 10,000 items" in error.message for error in errors)


def test_deep_yaml_and_json_are_problems(tmp_path: Path) -> None:
    loaded, errors = load(
        tmp_path,
        {
            "deep.md": "---\ntitle: T\nx: " + "[" * 100_000 + "\n---\n",
            "deep.json": "[" * 200_000 + "]" * 200_000,
            "long.json": '{"title": "T", "body": "b", "n": ' + "9" * 5000 + "}",
        },
    )
    assert loaded == ["posts/good.md"]
    assert sorted(error.source for error in errors) == ["posts/deep.json", "posts/deep.md", "posts/long.json"]


def test_a_time_without_offset_is_in_the_default_zone(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    text = "---\ntitle: T\npublish_at: 2027-07-01T09:00:00\npublished: 2024-05-17\n---\nText.\n"
    result = load_articles([_write(tmp_path, "a.md", text)], root=tmp_path, timezone=berlin)

    [article] = result.articles
    assert article.publish_at == datetime(2027, 7, 1, 7, tzinfo=UTC)
    assert article.publish_at.utcoffset() is not None
    assert article.published == datetime(2024, 5, 16, 22, tzinfo=UTC)


def test_publish_at_now_is_the_moment_of_loading(tmp_path: Path) -> None:
    now = datetime(2027, 5, 1, 12, 30, tzinfo=UTC)
    paths = [
        _write(tmp_path, "a.md", "---\ntitle: T\npublish_at: now\n---\nText.\n"),
        _write(tmp_path, "b.json", '{"title": "T", "body": "b", "publish_at": "NOW"}'),
    ]
    result = load_articles(paths, root=tmp_path, now=now)
    assert [article.publish_at for article in result.articles] == [now, now]


def test_json_list_keeps_its_good_items_and_reports_every_bad_one(tmp_path: Path) -> None:
    items = [
        {"title": "Fine", "body": "one"},
        {"title": "Bad date", "body": "two", "publish_at": "2024-02-30T10:00:00Z"},
        "not an object",
        {"title": "Bad tags", "body": "three", "tags": 5},
        {"title": "Also fine", "body": "four"},
    ]
    text = json.dumps(items, indent=2)
    loaded, errors = load(tmp_path, {"items.json": text})

    assert loaded == ["posts/good.md", "posts/items.json#0", "posts/items.json#4"]
    lines = text.splitlines()
    assert [(error.line, error.message.split(": ", 2)[1]) for error in errors] == [
        (next(i for i, line in enumerate(lines, 1) if "2024-02-30" in line), "posts/items.json#1"),
        (next(i for i, line in enumerate(lines, 1) if "not an object" in line), "posts/items.json#2"),
        (next(i for i, line in enumerate(lines, 1) if '"tags": 5' in line), "posts/items.json#3"),
    ]
    tags_hint = errors[2].hint or ""
    assert '"tags": ["KhalkhinGol", "MilitaryHistory"]' in tags_hint
    assert "tags: [" not in tags_hint


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("publish-at", "publish_at"), ("tgas", "tags"), ("chanels", "channels"), ("Title", "title")],
)
def test_a_near_miss_of_a_known_key_is_a_problem(tmp_path: Path, written: str, suggested: str) -> None:
    value = "[a]" if suggested in ("tags", "channels") else "2027-01-01T09:00:00Z"
    loaded, errors = load(tmp_path, {"typo.md": f"---\ntitle: T\n\n{written}: {value}\n---\nText.\n"})

    assert loaded == ["posts/good.md"]
    [error] = errors
    assert (error.source, error.line) == ("posts/typo.md", 4)
    assert f"{written}: unknown key; did you mean '{suggested}'?" in error.message


def test_other_extra_keys_reach_the_article(tmp_path: Path) -> None:
    text = "---\ntitle: T\nsubtitle: S\nseries: War\nauthor: A\nupdated: 2024-05-01\n---\nText.\n"
    [article] = load_articles([_write(tmp_path, "a.md", text)], root=tmp_path).articles
    assert set(article.extra) == {"subtitle", "series", "author", "updated"}


def test_an_unknown_channel_is_a_problem_with_a_suggestion(tmp_path: Path) -> None:
    loaded, errors = load(
        tmp_path,
        {"a.md": "---\ntitle: T\nchannels: [file, mastodonn]\n---\nText.\n"},
        channels={"file", "mastodon"},
    )
    assert loaded == ["posts/good.md"]
    [error] = errors
    assert error.line == 3
    assert "no channel named 'mastodonn'; did you mean 'mastodon'?" in error.message
    assert error.hint == "configured channels: file, mastodon"


def test_all_problems_of_one_article_are_reported(tmp_path: Path) -> None:
    text = "---\ntitle: T\ntgas: [a]\npublished: 2024-02-30\nurl: nowhere\n---\nText.\n"
    loaded, errors = load(tmp_path, {"a.md": text})
    assert loaded == ["posts/good.md"]
    assert [error.line for error in errors] == [4]  # YAML stops at the date it cannot build
    text = "---\ntitle: T\ntgas: [a]\npublished: '2024-02-30'\nurl: nowhere\n---\nText.\n"
    loaded, errors = load(tmp_path, {"a.md": text})
    assert [error.line for error in errors] == [3, 4, 5]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SERVE_CONFIG = """\
[defaults]
channels = ["file"]

[channels.file]
network = "file"
"""


def test_check_reports_and_serve_sends_the_good_articles(tmp_path: Path) -> None:
    from service.processes import tagcast

    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    (root / "config" / "tagcast.toml").write_text(SERVE_CONFIG, encoding="utf-8")
    posts = {
        "bad-date.md": "---\ntitle: Bad\npublish_at: 2020-13-45T00:00:00Z\n---\nText.\n",
        "bad-offset.md": "---\ntitle: Bad\npublish_at: 2027-01-01T00:00:00+25:00\n---\nText.\n",
        "far.md": "---\ntitle: Far\npublish_at: 9999-12-31T23:00:00-05:00\n---\nText.\n",
        "list.json": json.dumps(
            [
                {"title": "Bad item", "body": "b", "published": "2024-02-30"},
                {"title": "Good item", "body": "g"},
            ]
        ),
        "good.md": "---\ntitle: Good\npublish_at: now\n---\nA **good**\nwrapped text.\n",
    }
    for name, text in posts.items():
        (root / "posts" / name).write_text(text, encoding="utf-8")

    check = tagcast("check", cwd=root)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "Traceback" not in check.stderr

    served = tagcast("serve", "--once", cwd=root)
    assert served.returncode == 0, served.stderr
    assert "Traceback" not in served.stderr
    sent = sorted((root / "var" / "outbox" / "file").glob("*.txt"))
    texts = [path.read_text(encoding="utf-8") for path in sent]
    assert len(texts) == 1 and "A good wrapped text." in texts[0]
    listed = tagcast("queue", "list", "--json", cwd=root)
    assert {row["source"]: row["state"] for row in json.loads(listed.stdout)} == {
        "posts/good.md": "sent",
        "posts/list.json#1": "planned",
    }


def test_the_pipeline_reads_times_without_offset_in_defaults_timezone(tmp_path: Path) -> None:
    from scheduler.config import load_workspace
    from scheduler.pipeline import Pipeline

    root = tmp_path / "site"
    (root / "config").mkdir(parents=True)
    (root / "posts").mkdir()
    config = SERVE_CONFIG.replace("[defaults]\n", '[defaults]\ntimezone = "America/New_York"\n')
    (root / "config" / "tagcast.toml").write_text(config, encoding="utf-8")
    (root / "posts" / "a.md").write_text("---\ntitle: T\npublish_at: 2027-07-01T09:00:00\n---\nText.\n")
    now = datetime(2027, 6, 1, tzinfo=UTC)

    result = Pipeline(load_workspace(root)).run(now=now)

    assert result.errors == []
    [post] = result.posts
    assert post.article.publish_at == datetime(2027, 7, 1, 13, tzinfo=UTC)
    assert post.scheduled_at == datetime(2027, 7, 1, 13, tzinfo=UTC)


def test_a_lone_surrogate_is_a_problem_not_a_crash_in_the_store(tmp_path: Path) -> None:
    items = [
        '{"title": "Half \\ud800 pair", "body": "b"}',
        '{"title": "T", "body": "half \\udc00 pair"}',
        '{"title": "T", "body": "b", "note\\ud800": 1}',
        '{"title": "Whole \\ud83d\\ude00 pair", "body": "b"}',
    ]
    loaded, errors = load(tmp_path, {"items.json": "[\n" + ",\n".join(items) + "\n]\n"})
    assert loaded == ["posts/good.md", "posts/items.json#3"]
    assert [error.line for error in errors] == [2, 3, 4]
    assert all("half of a UTF-16 pair" in error.message for error in errors)


def test_a_nul_character_is_a_problem(tmp_path: Path) -> None:
    loaded, errors = load(
        tmp_path,
        {
            "title.md": '---\ntitle: "Nul \\0 here"\n---\nText.\n',
            "body.txt": "Title\n\nText \x00 with a NUL.\n",
            "body.json": '{"title": "T", "body": "b\\u0000"}',
            "markdown.md": "---\ntitle: T\n---\nText \x00 with a NUL.\n",  # CommonMark makes it U+FFFD
        },
    )
    assert loaded == ["posts/good.md", "posts/markdown.md"]
    assert sorted((error.source, "NUL character" in error.message) for error in errors) == [
        ("posts/body.json", True),
        ("posts/body.txt", True),
        ("posts/title.md", True),
    ]


def test_an_article_file_the_size_of_a_book_is_a_problem(tmp_path: Path) -> None:
    book = "A sentence of a very long book. " * 10_000
    loaded, errors = load(
        tmp_path,
        {
            "book.md": "---\ntitle: Book\n---\n" + book,
            "book.txt": "Book\n\n" + book,
            "books.json": json.dumps([{"title": "Book", "body": book}, {"title": "Short", "body": "s"}]),
        },
    )
    assert loaded == ["posts/books.json#1", "posts/good.md"]
    assert sorted((error.source, error.message.split(": ", 1)[1]) for error in errors) == [
        ("posts/book.md", "the file is larger than 256 KiB"),
        ("posts/book.txt", "the file is larger than 256 KiB"),
        ("posts/books.json", "posts/books.json#0: body: the text is longer than 262,144 characters"),
    ]
