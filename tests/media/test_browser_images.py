"""The HTML preview's images in a real browser (Debian's headless Chromium): each thumbnail decodes, carries
its alt text, and the page still loads nothing from anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from tests.conftest import WriteWorkspace
from tests.web.test_browser import check_accessible, driver, requested_urls, shoot  # noqa: F401

from .pictures import oriented_jpeg, transparent_png
from .test_preview_media import ARTICLE, CONFIG

pytestmark = pytest.mark.browser


def test_the_preview_file_shows_each_image_with_its_alt_text(
    driver: Any,  # noqa: F811
    make_workspace: WriteWorkspace,
    tmp_path: Path,
) -> None:
    from selenium.webdriver.common.by import By

    root = make_workspace(CONFIG, {"ships.md": ARTICLE})
    oriented_jpeg(root / "posts" / "img" / "photo.jpg")
    transparent_png(root / "posts" / "img" / "clear.png")
    out = tmp_path / "preview.html"
    result = CliRunner().invoke(app, ["preview", "--html", str(out), "--config", str(root)])
    assert result.exit_code == 0, result.stderr
    driver.get(out.as_uri())
    images = driver.find_elements(By.CSS_SELECTOR, "figure.image img")
    assert [image.get_attribute("alt") for image in images] == ["Red over blue", "A green square"] * 2
    for image in images:
        assert driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0
    portrait = images[0]
    ratio = driver.execute_script("return arguments[0].naturalHeight / arguments[0].naturalWidth", portrait)
    assert ratio == 2  # turned upright: 20x40
    captions = [caption.text for caption in driver.find_elements(By.CSS_SELECTOR, "figure.image figcaption")]
    assert captions[0].startswith("ALT Red over blue")
    notes = [note.text for note in driver.find_elements(By.CSS_SELECTOR, ".image-left-out")]
    assert notes == [
        "image 1 (img/photo.jpg) left out: slack takes only images at a public https address",
        "image 2 (img/clear.png) left out: slack takes only images at a public https address",
    ]
    requested = requested_urls(driver)
    assert [url for url in requested if not url.startswith("data:image/")] == [out.as_uri()]  # nothing else
    check_accessible(driver)
    shoot(driver, "preview-images")
