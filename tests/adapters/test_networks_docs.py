"""The channel examples of docs/networks.md are valid configs as written, and pass ``tagcast channels test``
against each network's fake once ``base_url`` points at it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fakes.facebook import FacebookFake
from fakes.linkedin import LinkedInFake
from fakes.server import FakeServer
from fakes.threads import ThreadsFake
from typer.testing import CliRunner, Result

from scheduler.cli.app import app
from tests.conftest import REPO

TOKEN = "docs-secret-token-8"


def examples() -> dict[str, str]:
    text = (REPO / "docs" / "networks.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", text, re.DOTALL)
    return {re.search(r"\[channels\.(\w+)\]", block)[1]: block for block in blocks}  # type: ignore[index]


def run(tmp_path: Path, channel: str, config: str, *args: str) -> Result:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True, exist_ok=True)
    (root / "config" / "tagcast.toml").write_text(config, encoding="utf-8")
    env = {"COLUMNS": "200", f"TAGCAST_CHANNELS__{channel.upper()}__TOKEN": TOKEN}
    return CliRunner().invoke(app, [*args, "--config", str(root)], env=env)


def test_the_doc_shows_the_three_networks() -> None:
    assert sorted(examples()) == ["facebook", "linkedin", "threads"]


@pytest.mark.parametrize("channel", ["threads", "linkedin", "facebook"])
def test_each_example_is_a_valid_config_as_written(tmp_path: Path, channel: str) -> None:
    result = run(tmp_path, channel, examples()[channel], "config", "show", "--json")
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output


def fake_for(channel: str) -> tuple[FakeServer, str]:
    if channel == "threads":
        threads = ThreadsFake(token=TOKEN)
        return threads, "/v1.0"
    if channel == "linkedin":
        return LinkedInFake(token=TOKEN, member="AbC123"), ""
    return FacebookFake(token=TOKEN, page_id="104857392011234"), "/v21.0"


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("threads", "posts as @alice.threads"),
        ("linkedin", "posts as Alice Example (urn:li:person:AbC123)"),
        ("facebook", "posts as Tagcast News (Page 104857392011234)"),
    ],
)
def test_each_example_passes_channels_test_against_its_fake(tmp_path: Path, channel: str, says: str) -> None:
    fake, prefix = fake_for(channel)
    with fake.running():
        config = examples()[channel]
        local = f'base_url = "{fake.base_url}{prefix}"'
        if "base_url" in config:
            config = re.sub(r'^base_url = "[^"]*"', local, config, flags=re.MULTILINE)
        else:
            config += local + "\n"
        result = run(tmp_path, channel, config, "channels", "test", channel)
    assert result.exit_code == 0, result.output
    assert says in result.stdout
