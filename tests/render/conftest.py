from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scheduler.render import TemplateRenderer


@pytest.fixture
def builtin() -> TemplateRenderer:
    return TemplateRenderer(None)


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    return folder


@pytest.fixture
def write(template_dir: Path) -> Callable[[str, str], Path]:
    def write_template(name: str, source: str) -> Path:
        path = template_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
        return path

    return write_template


@pytest.fixture
def renderer(template_dir: Path) -> TemplateRenderer:
    return TemplateRenderer(template_dir)
