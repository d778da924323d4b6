"""``tagcast import FILE``: CSV, JSON and JSON Lines rows become Markdown articles in posts/, bad rows are
reported with their row number while the good ones go in, and a second import changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scheduler.articles import load_articles
from scheduler.cli.app import app
from tests.conftest import WriteWorkspace

CONFIG = '[channels.file]\nnetwork = "file"\n'

CSV = """\
Headline,Link,tags,Summary
Khalkhin Gol,https://history.example/kg,"KhalkhinGol, History","The battle began on 20 August 1939."
Bad link,ftp://history.example/x,History,Text.
"Dunkirk, the little ships",https://history.example/dunkirk,History,"Seven hundred boats.
They crossed the Channel."
,https://history.example/untitled,History,No headline.
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stderr


def test_csv_rows_become_articles_and_bad_rows_name_their_line(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG)
    (root / "catalogue.csv").write_text(CSV, encoding="utf-8")
    args = ["import", str(root / "catalogue.csv"), "--config", str(root)]
    mapping = ["--map", "title=Headline", "--map", "url=Link", "--map", "body=Summary"]
    code, err = run(*args, *mapping)
    assert code == 1
    assert "catalogue.csv:3: url: 'ftp://history.example/x' is not a web address" in err
    assert "catalogue.csv:6: title: the article has no title" in err
    assert "4 row(s) of catalogue.csv: 2 new, 0 updated, 0 unchanged, 2 bad" in err
    loaded = load_articles([root / "posts"], root=root)
    assert loaded.errors == []
    by_title = {article.title: article for article in loaded.articles}
    assert set(by_title) == {"Khalkhin Gol", "Dunkirk, the little ships"}
    assert by_title["Dunkirk, the little ships"].body == "Seven hundred boats. They crossed the Channel."
    assert [tag.text for tag in by_title["Khalkhin Gol"].hashtags] == ["KhalkhinGol", "History"]
    assert all(a.source.startswith("posts/imported/catalogue/") for a in loaded.articles)

    files = sorted((root / "posts").rglob("*.md"))
    before = {path: path.read_text(encoding="utf-8") for path in files}
    code, err = run(*args, *mapping)
    assert code == 1
    assert "0 new, 0 updated, 2 unchanged, 2 bad" in err
    after = {path: path.read_text(encoding="utf-8") for path in sorted((root / "posts").rglob("*.md"))}
    assert after == before


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_json_and_json_lines(make_workspace: WriteWorkspace, kind: str) -> None:
    root = make_workspace(CONFIG)
    rows = [
        {"id": "m1", "title": "Antikythera", "url": "https://history.example/a", "text": "Bronze gears."},
        {"id": "m2", "title": "Broken", "published": "yesterday", "text": "x"},
        {"id": "m3", "title": "Comet", "tags": ["Astronomy"], "text": "Halley, 1066."},
    ]
    path = root / f"rows.{kind}"
    text = json.dumps(rows, indent=1) if kind == "json" else "\n".join(json.dumps(row) for row in rows)
    path.write_text(text, encoding="utf-8")
    code, err = run("import", str(path), "--config", str(root), "--into", "posts/batch")
    assert code == 1
    where = "rows.json: row 2:" if kind == "json" else "rows.jsonl:2:"
    assert f"{where} published: 'yesterday' is not an ISO 8601 date" in err
    loaded = load_articles([root / "posts" / "batch"], root=root)
    assert sorted(a.title for a in loaded.articles) == ["Antikythera", "Comet"]
    assert sorted(str(a.id) for a in loaded.articles) == ["m1", "m3"]
    # the row fixed and imported again: only that one is new
    rows[1]["published"] = "2024-05-17"
    path.write_text(json.dumps(rows) if kind == "json" else "\n".join(json.dumps(r) for r in rows), "utf-8")
    code, err = run("import", str(path), "--config", str(root), "--into", "posts/batch")
    assert code == 0, err
    assert "1 new, 0 updated, 2 unchanged, 0 bad" in err


def test_a_bad_mapping_is_a_usage_error(make_workspace: WriteWorkspace) -> None:
    root = make_workspace(CONFIG)
    (root / "a.csv").write_text("title\nx\n", encoding="utf-8")
    code, err = run("import", str(root / "a.csv"), "--config", str(root), "--map", "title")
    assert code == 2 and "--map 'title': write KEY=COLUMN" in err


def test_an_unknown_format_says_how_to_name_it(make_workspace: WriteWorkspace, tmp_path: Path) -> None:
    root = make_workspace(CONFIG)
    (root / "a.tsv").write_text("title\nx\n", encoding="utf-8")
    code, err = run("import", str(root / "a.tsv"), "--config", str(root))
    assert code == 1 and "--format csv|json|jsonl" in err
