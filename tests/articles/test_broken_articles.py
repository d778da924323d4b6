"""One good file among broken ones: the good article loads, and each broken file gives one precise error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scheduler.articles import load_articles

Write = Callable[[str, str], Path]


def test_one_error_per_broken_file(write: Write, tmp_path: Path) -> None:
    write("posts/good.md", "---\ntitle: Good one\ntags: [Science]\n---\nText.\n")
    write(
        "posts/bad-yaml.md",
        """
        ---
        title: Bad YAML
        url: https://example.org
        tags: [History, Science
        publish_at: 2027-01-01T09:00:00Z
        ---
        Text.
        """,
    )
    write(
        "posts/bad.json",
        """
        [
          {"title": "A", "body": "fine"},
          {"title": "B", "body": "missing comma" "tags": []}
        ]
        """,
    )
    write("posts/no-title.md", "---\nurl: https://example.org\ntags: [History]\n---\n\nNo heading either.\n")
    write(
        "posts/bad-date.md",
        "---\ntitle: Bad date\nurl: https://example.org\npublish_at: tomorrow-ish\n---\nText\n",
    )
    write("posts/bad-tags.md", "---\ntitle: Bad tags\n\n\ntags: 5\n---\nText\n")
    write("posts/empty.txt", "\n\n")

    result = load_articles([tmp_path / "posts"], root=tmp_path)

    assert [article.source for article in result.articles] == ["posts/good.md"]
    found = {(error.source, error.line) for error in result.errors}
    assert len(result.errors) == len(found) == 6
    assert {error.source: error.line for error in result.errors} == {
        "posts/bad-date.md": 4,
        "posts/bad-tags.md": 5,
        "posts/bad-yaml.md": 5,
        "posts/bad.json": 3,
        "posts/empty.txt": 1,
        "posts/no-title.md": 2,
    }
    for error in result.errors:
        assert error.hint, error
        assert str(error).startswith(f"{error.source}:{error.line}: ")
