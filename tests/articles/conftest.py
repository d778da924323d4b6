from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.articles import load_article_file
from scheduler.models import Article

Write = Callable[[str, str], Path]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a dedented text file under tmp_path and return its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def load_one(write: Write, tmp_path: Path) -> Callable[[str, str], Article]:
    """Write one file and load the single article in it."""

    def load(name: str, text: str) -> Article:
        [article] = load_article_file(write(name, text), root=tmp_path)
        return article

    return load
