"""Finding article files, naming their sources, and collecting errors file by file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.articles import find_article_files, load_article_file, load_articles, source_name
from scheduler.errors import ArticleError

Write = Callable[[str, str], Path]

GOOD_MD = "---\ntitle: Good\ntags: [History]\n---\nText.\n"


def test_folder_is_searched_recursively_sorted_skipping_hidden_and_readme(
    write: Write, tmp_path: Path
) -> None:
    for name in [
        "posts/b.md",
        "posts/a.txt",
        "posts/sub/c.markdown",
        "posts/sub/README.md",
        "posts/README.md",
        "posts/.draft.md",
        "posts/.git/x.md",
        "posts/notes.rst",
        "posts/Z.MD",
    ]:
        write(name, GOOD_MD if not name.endswith(".txt") else "Good\n\nText.\n")
    found = find_article_files(tmp_path / "posts")
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "posts/Z.MD",
        "posts/a.txt",
        "posts/b.md",
        "posts/sub/c.markdown",
    ]
    result = load_articles([tmp_path / "posts"], root=tmp_path)
    assert result.errors == []
    assert [article.source for article in result.articles] == [
        "posts/Z.MD",
        "posts/a.txt",
        "posts/b.md",
        "posts/sub/c.markdown",
    ]


def test_source_is_relative_to_root_or_absolute_outside(tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    assert source_name(root / "posts" / "a.md", root) == "posts/a.md"
    assert source_name(root / "posts" / ".." / "b.md", root) == "b.md"
    assert source_name(tmp_path / "elsewhere" / "c.md", root) == (tmp_path / "elsewhere" / "c.md").as_posix()


def test_relative_paths_against_relative_root(
    write: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("posts/a.md", GOOD_MD)
    monkeypatch.chdir(tmp_path)
    result = load_articles([Path("posts")], root=Path())
    assert [article.source for article in result.articles] == ["posts/a.md"]


def test_explicit_files_load_whatever_their_name_and_once(write: Write, tmp_path: Path) -> None:
    readme = write("posts/README.md", GOOD_MD)
    result = load_articles([tmp_path / "posts", readme, readme], root=tmp_path)
    assert [article.source for article in result.articles] == ["posts/README.md"]


def test_missing_path_is_an_error_and_others_still_load(write: Write, tmp_path: Path) -> None:
    good = write("good.md", GOOD_MD)
    result = load_articles([tmp_path / "nope.md", good], root=tmp_path)
    assert [article.title for article in result.articles] == ["Good"]
    assert [(error.source, error.message) for error in result.errors] == [
        ("nope.md", "nope.md: no such file or folder")
    ]


def test_unknown_format(write: Write, tmp_path: Path) -> None:
    with pytest.raises(ArticleError) as caught:
        load_article_file(write("a.rst", "Title\n"), root=tmp_path)
    assert caught.value.hint is not None and "*.md" in caught.value.hint


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("---\ntitle: Caf\u00e9\n---\n".encode("latin-1"))
    with pytest.raises(ArticleError) as caught:
        load_article_file(path, root=tmp_path)
    assert (caught.value.line, caught.value.hint) == (2, "save the file as UTF-8")
