"""``tagcast config validate`` warns about a channel key its network does not use, naming the file and line,
the network, and the networks that do use it; a warning leaves the exit code 0."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scheduler.adapters.channel_keys import declared_keys
from scheduler.adapters.registry import installed, load_adapter
from scheduler.cli.app import app
from scheduler.config.models import ChannelSettings
from tests.conftest import REPO

MIXED = """\
[channels.bsky]
network = "bluesky"
handle = "alice.test"
image_max_bytes = 1000000

[channels.chat]
network = "discord"
username = "tagcast"
chat_id = "-100123"

[channels.masto]
network = "mastodon"
base_url = "https://mastodon.example"
image_max_bytes = 1000000
visibility = "unlisted"
"""

WARNINGS = [
    "channels.bsky.image_max_bytes (config/tagcast.toml:4): bluesky does not use this key (mastodon does); "
    "remove it",
    "channels.chat.chat_id (config/tagcast.toml:9): discord does not use this key (telegram does); remove it",
]


def workspace(root: Path, text: str) -> Path:
    (root / "config").mkdir()
    (root / "config" / "tagcast.toml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def _in_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def validate(root: Path, *args: str) -> tuple[int, str]:
    """``tagcast config validate`` run in the workspace ``root`` (the current folder), as a user does: exit
    code and what it printed."""
    assert Path.cwd() == root.resolve()
    result = CliRunner().invoke(app, ["config", "validate", *args])
    return result.exit_code, result.stdout


def test_each_unused_key_is_a_warning_with_its_line(tmp_path: Path) -> None:
    code, out = validate(workspace(tmp_path, MIXED))
    assert code == 0, out
    assert out.splitlines() == [
        *(f"warning: {w}" for w in WARNINGS),
        "config/tagcast.toml is valid: 3 channel(s), 0 rule(s), 1 schedule(s), 2 warning(s)",
    ]


def test_json_carries_the_warnings_apart_from_the_problems(tmp_path: Path) -> None:
    code, out = validate(workspace(tmp_path, MIXED), "--json")
    assert code == 0
    assert json.loads(out) == {"problems": [], "warnings": WARNINGS}


def test_a_config_with_problems_still_lists_its_warnings(tmp_path: Path) -> None:
    code, out = validate(workspace(tmp_path, MIXED + 'max_hashtags = "many"\n'))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("✗ channels.masto.max_hashtags (config/tagcast.toml:16): ")
    assert lines[1:] == [*(f"warning: {w}" for w in WARNINGS), "1 problem(s) in config/tagcast.toml"]


def test_a_clean_config_has_no_warning(tmp_path: Path) -> None:
    clean = MIXED.replace("image_max_bytes = 1000000\n", "", 1).replace('chat_id = "-100123"\n', "")
    code, out = validate(workspace(tmp_path, clean))
    assert code == 0
    assert out == "config/tagcast.toml is valid: 3 channel(s), 0 rule(s), 1 schedule(s)\n"
    assert json.loads(validate(tmp_path, "--json")[1]) == {"problems": [], "warnings": []}


def test_secrets_and_their_files_count_for_the_networks_that_hold_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network's own secrets and ``<key>_file`` forms are used; another network's are not, wherever they
    come from (the variable is named, as every message about a value from the environment does)."""
    (tmp_path / "pw").write_text("app-password\n", encoding="utf-8")
    (tmp_path / "tok").write_text("token\n", encoding="utf-8")
    text = """\
[channels.bsky]
network = "bluesky"
handle = "alice.test"
password_file = "pw"
token_file = "tok"

[channels.x]
network = "x"
client_id = "abc"
oauth2_refresh_token_file = "tok"
"""
    monkeypatch.setenv("TAGCAST_CHANNELS__X__BOT_TOKEN", "123:abc")
    code, out = validate(workspace(tmp_path, text))
    assert code == 0, out
    assert out.splitlines() == [
        "warning: channels.bsky.token_file (config/tagcast.toml:5): bluesky does not use this key "
        "(facebook, linkedin, mastodon and threads do); remove it",
        "warning: channels.x.bot_token (from the environment variable TAGCAST_CHANNELS__X__BOT_TOKEN): "
        "x does not use this key (telegram does); remove it",
        "config/tagcast.toml is valid: 2 channel(s), 0 rule(s), 1 schedule(s), 2 warning(s)",
    ]
    assert "123:abc" not in out


def test_a_key_no_network_uses_says_so(tmp_path: Path) -> None:
    """``options`` is every channel's; ``path`` only the file adapter's, which it is not here."""
    text = '[channels.hook]\nnetwork = "webhook"\nurl = "https://hooks.example/in"\npath = "out"\n'
    code, out = validate(workspace(tmp_path, text))
    assert code == 0
    assert out.splitlines()[0] == (
        "warning: channels.hook.path (config/tagcast.toml:4): webhook does not use this key (file does); "
        "remove it"
    )


UNDECLARED = """
from scheduler.adapters.base import Adapter, Identity, Receipt


class OwlAdapter(Adapter):
    network = "owl"

    async def publish(self, post, journal):
        return Receipt(remote_ids=("1",))

    async def check(self):
        return Identity(account="owl")


class DeclaredOwlAdapter(OwlAdapter):
    network = "owl2"
    settings_keys = frozenset({"handle"})
"""


@pytest.fixture
def owls_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Third-party adapters installed as pip leaves a package: one declaring no ``settings_keys``, one
    declaring ``handle``, and one whose module fails to import (no channel uses it)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "tagcast_owl.py").write_text(UNDECLARED, encoding="utf-8")
    dist = site / "tagcast_owl-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tagcast-owl\nVersion: 1.0\n")
    (site / "tagcast_owl_broken.py").write_text('raise ImportError("needs libowl")\n', encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[tagcast.adapters]\nowl = tagcast_owl:OwlAdapter\nowl2 = tagcast_owl:DeclaredOwlAdapter\n"
        "owl3 = tagcast_owl_broken:OwlAdapter\n"
    )
    monkeypatch.syspath_prepend(str(site))
    installed.cache_clear()
    yield
    installed.cache_clear()
    sys.modules.pop("tagcast_owl", None)


@pytest.mark.usefixtures("owls_installed")
def test_a_third_party_adapter_without_a_declaration_is_not_checked(tmp_path: Path) -> None:
    """Its channels get no warning; one that declares is checked like a shipped one, and counts among the
    networks that use a key; one that cannot be imported is left out of that list."""
    text = """\
[channels.owl]
network = "owl"
chat_id = "1"
page_id = "2"

[channels.owl2]
network = "owl2"
handle = "hoot"
chat_id = "1"

[channels.notes]
network = "file"
handle = "me"
"""
    code, out = validate(workspace(tmp_path, text))
    assert code == 0, out
    assert out.splitlines() == [
        "warning: channels.owl2.chat_id (config/tagcast.toml:9): owl2 does not use this key (telegram does); "
        "remove it",
        "warning: channels.notes.handle (config/tagcast.toml:13): file does not use this key "
        "(bluesky and owl2 do); remove it",
        "config/tagcast.toml is valid: 3 channel(s), 0 rule(s), 1 schedule(s), 2 warning(s)",
    ]


def test_the_warning_shown_in_the_configuration_guide_is_the_one_validate_prints(tmp_path: Path) -> None:
    """docs/configuration.md shows the warning for ``image_max_bytes`` on line 14 of a Bluesky channel."""
    guide = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    shown = [line for line in guide.splitlines() if line.startswith("warning: channels.bsky.image_max_bytes")]
    assert len(shown) == 1
    text = (
        "\n" * 10 + '[channels.bsky]\nnetwork = "bluesky"\nhandle = "alice.test"\nimage_max_bytes = 1000000\n'
    )
    code, out = validate(workspace(tmp_path, text))
    assert code == 0
    assert out.splitlines()[0] == shown[0]


def _documented_keys() -> dict[str, set[str]]:
    """Network -> the keys of the "config keys" column of docs/networks.md's table of every network."""
    table = (REPO / "docs" / "networks.md").read_text(encoding="utf-8").split("## Every network")[1]
    keys: dict[str, set[str]] = {}
    for row in table.splitlines():
        cells = row.split(" | ")
        if len(cells) >= 4 and cells[0].startswith("| `"):
            named = set(re.findall(r"`([a-z_]+)", cells[2]))
            keys[cells[0].strip("| `")] = named & set(ChannelSettings.model_fields)
    return keys


def test_every_key_the_networks_guide_names_is_one_its_network_uses() -> None:
    """A key the guide tells a user to set must not draw a warning."""
    documented = _documented_keys()
    shipped = [n for n, e in installed().items() if e.value.startswith("scheduler.adapters.")]
    assert sorted(documented) == sorted(shipped)
    for network, keys in documented.items():
        declared = declared_keys(load_adapter(network))
        assert declared is not None
        assert keys <= declared, f"{network}: the guide names {sorted(keys - declared)}"


def test_config_set_and_channels_add_warn_about_the_key_they_write(tmp_path: Path) -> None:
    """The change is saved (a warning, not a refusal) and the warning names the key's new line; keys the
    change did not touch are left to ``config validate``."""
    workspace(tmp_path, MIXED)
    runner = CliRunner()
    result = runner.invoke(app, ["config", "set", "channels.masto.chat_id", "-100"])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: channels.masto.chat_id (config/tagcast.toml:16): mastodon does not use this key "
        "(telegram does); remove it",
        "set channels.masto.chat_id (config/tagcast.toml:16)",
    ]
    assert 'chat_id = "-100"' in (tmp_path / "config" / "tagcast.toml").read_text(encoding="utf-8")

    result = runner.invoke(app, ["config", "set", "channels.masto.visibility", "public"])
    assert result.exit_code == 0
    assert "warning" not in result.stderr

    args = ["channels", "add", "tg", "--network", "telegram", "--set", "chat_id=@news", "--set", "handle=me"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        "warning: channels.tg.handle (config/tagcast.toml:21): telegram does not use this key "
        "(bluesky does); remove it"
    )
    assert sum("warning" in line for line in result.stderr.splitlines()) == 1


def test_the_workspace_init_writes_has_no_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert CliRunner().invoke(app, ["init", "site"]).exit_code == 0
    monkeypatch.chdir(tmp_path / "site")
    code, out = validate(tmp_path / "site")
    assert code == 0
    assert out.startswith("config/tagcast.toml is valid: ")
    assert "warning" not in out
