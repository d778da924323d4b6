"""The preview page and the dashboard in a real browser: Debian's headless Chromium, driven by Selenium
through Debian's chromedriver (Selenium Manager is kept offline: nothing is downloaded).

Screenshots are kept in ``test-artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from scheduler.cli.app import app as cli
from scheduler.store import DeliveryState, Store

from .conftest import NOW, POSTS, REPO_ROOT, write_workspace

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else shutil.which("chromedriver")
)
ARTIFACTS = REPO_ROOT / "test-artifacts"
LONG = "---\ntitle: " + "Very long title " * 22 + "\ntags: [History]\n---\n\nBody.\n"


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not fetch a browser or a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in CI
        "--disable-dev-shm-usage",  # a container's small /dev/shm
        "--disable-gpu",
        "--window-size=1280,1600",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield browser
    finally:
        browser.quit()


def shoot(driver: Any, name: str) -> None:
    """Save a screenshot of the whole page as ``test-artifacts/NAME.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.set_window_size(max(width, 360), min(max(height + 120, 600), 8000))
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def console_errors(driver: Any) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


LOW_CONTRAST = """
const luminance = (color) => {
  const [r, g, b] = color.match(/[\\d.]+/g).slice(0, 3).map((v) => {
    v = Number(v) / 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const background = (element) => {
  for (; element; element = element.parentElement) {
    const color = getComputedStyle(element).backgroundColor;
    const parts = color.match(/[\\d.]+/g);
    if (parts && (parts.length < 4 || Number(parts[3]) > 0.5)) return color;
  }
  return "rgb(255, 255, 255)";
};
const low = [];
for (const element of document.querySelectorAll("h1, h2, h3, p, a, span, dt, dd, li, td, th, button, time")) {
  if (!element.textContent.trim() || !element.getClientRects().length) continue;
  const [a, b] = [luminance(getComputedStyle(element).color), luminance(background(element))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) low.push(`${element.tagName}.${element.className}: ${ratio.toFixed(2)}`);
}
return low;
"""
"""Every visible text whose contrast against its background is under WCAG AA's 4.5:1."""


def check_accessible(driver: Any) -> None:
    """Landmarks, one h1, alt text on every image, and AA contrast for every text."""
    from selenium.webdriver.common.by import By

    for landmark in ("header", "main", "footer"):
        assert len(driver.find_elements(By.TAG_NAME, landmark)) >= 1, landmark
    assert len(driver.find_elements(By.TAG_NAME, "h1")) == 1
    assert all(image.get_attribute("alt") is not None for image in driver.find_elements(By.TAG_NAME, "img"))
    assert driver.execute_script(LOW_CONTRAST) == []


def requested_urls(driver: Any) -> list[str]:
    """Every URL the page asked the network layer for (Chrome's performance log of DevTools events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def test_the_preview_file_shows_every_post_with_links_and_loads_nothing(driver: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    root = write_workspace(tmp_path / "ws", {**POSTS, "long.md": LONG})
    out = tmp_path / "preview.html"
    runner = CliRunner()
    now = "2027-01-11T08:00:00+01:00"
    assert (
        runner.invoke(cli, ["preview", "--now", now, "--html", str(out), "--config", str(root)]).exit_code
        == 0
    )
    posts = json.loads(runner.invoke(cli, ["preview", "--now", now, "--json", "--config", str(root)]).stdout)

    driver.get(out.as_uri())
    cards = driver.find_elements(By.CSS_SELECTOR, "article.card")
    assert len(cards) == len(posts) == 9
    shown = [[p.text for p in card.find_elements(By.CSS_SELECTOR, "p.text")] for card in cards]
    for card in cards:
        for text in card.find_elements(By.CSS_SELECTOR, "p.text"):
            assert text.is_displayed()
    # what the browser shows is the exact text of each part (white space kept as written)
    expected = [[" ".join(part.split()) for part in post["parts"]] for post in posts]
    assert sorted(map(sorted, ([" ".join(t.split()) for t in card] for card in shown))) == sorted(
        map(sorted, expected)
    )
    tags = {a.text for a in driver.find_elements(By.CSS_SELECTOR, "p.text a.tag")}
    assert {"#History", "#Bronze"} <= tags
    links = {a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, "p.text a.link")}
    assert {"https://example.org/alpha", "https://example.org/bravo"} <= links
    over = driver.find_element(By.CSS_SELECTOR, ".length.too-long")
    assert over.text == "368 / 300 graphemes: 68 over the limit"
    red = "rgba(179, 38, 30, 1)"  # --bad in the light scheme: 6.6:1 against white
    assert over.value_of_css_property("color") == red
    assert driver.find_element(By.CSS_SELECTOR, ".problems li").value_of_css_property("color") == red

    assert console_errors(driver) == []
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert requested_urls(driver) == [out.as_uri()]
    check_accessible(driver)
    shoot(driver, "preview-light")

    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 17, 21)"
    check_accessible(driver)
    shoot(driver, "preview-dark")
    driver.set_window_size(390, 844)
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, "the page scrolls sideways on a phone"
    shoot(driver, "preview-phone")


@pytest.fixture
def served(app: Any) -> Iterator[str]:
    """The dashboard served by uvicorn on a loopback port (bound before the browser connects)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the browser's connection waits in the backlog until uvicorn accepts it
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def test_the_calendar_and_a_cancel_through_the_browser(driver: Any, served: str, store: Store) -> None:
    from selenium.webdriver.common.by import By

    moved = next(d for d in store.list() if d.channel == "masto" and d.source == "posts/bravo.md")
    store.reschedule(moved.id, datetime(2027, 1, 13, 9, 30, tzinfo=UTC), now=NOW)  # 10:30 in Berlin

    driver.get(served + "/")
    monday = driver.find_element(By.CSS_SELECTOR, 'section.day[data-day="2027-01-11"]')
    entries = monday.find_elements(By.CSS_SELECTOR, "li.entry")
    assert len(entries) == 5
    assert entries[0].text.startswith("09:00 bsky planned")
    assert entries[0].find_element(By.CSS_SELECTOR, ".snippet").is_displayed()
    wednesday = driver.find_elements(By.CSS_SELECTOR, 'section.day[data-day="2027-01-13"] li.entry')
    assert [entry.get_attribute("data-id") for entry in wednesday] == [moved.id]
    assert wednesday[0].text.startswith("10:30 masto planned\nBravo story")
    assert driver.find_elements(By.CSS_SELECTOR, 'section.day[data-day="2027-01-12"] li.entry') == []
    assert console_errors(driver) == []
    check_accessible(driver)
    shoot(driver, "calendar")
    driver.set_window_size(390, 844)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
    shoot(driver, "calendar-phone")
    driver.set_window_size(1280, 1600)

    delivery_id = entries[0].get_attribute("data-id")
    entries[0].find_element(By.TAG_NAME, "a").click()
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith(f"Delivery {delivery_id}")
    shoot(driver, "delivery")
    driver.find_element(By.CSS_SELECTOR, 'button[value="cancel"]').click()
    assert driver.find_element(By.CSS_SELECTOR, "p.flash").text == "Cancelled: it will not be sent."
    assert store.get(delivery_id).state is DeliveryState.CANCELLED
    assert console_errors(driver) == []
    check_accessible(driver)
    shoot(driver, "delivery-cancelled")

    driver.get(served + "/posts")
    assert len(driver.find_elements(By.CSS_SELECTOR, "article.card")) == 6
    assert console_errors(driver) == []
    shoot(driver, "posts")
