"""Every TOML config printed in DESIGN.md, README.md and docs/ is valid, exactly as printed.

Each ```toml block is checked twice:

* alone, as the whole ``config/tagcast.toml`` of an empty workspace: a full example must load as it is
  (only the blocks in :data:`FRAGMENTS` are exempt, each with the reason it cannot stand alone);
* merged into the shipped config (``config/tagcast.toml`` and ``config/templates`` of this repository),
  the way a reader adds it to the workspace that ``tagcast init`` gives them.

Both run the real ``tagcast config validate`` (no problem and no warning: no example sets a channel key its
network does not use) and then load the workspace.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from typer.testing import CliRunner

from scheduler.adapters.registry import GROUP
from scheduler.cli.app import app
from scheduler.config import load_workspace
from scheduler.config.settings import Settings
from tests.conftest import REPO, SHARED

DOCUMENTS = [SHARED / "DESIGN.md", REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```toml[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)

FRAGMENTS = {
    "README.md: [channels.masto]": ["no schedule named 'weekdays'", "no template 'history.j2'"],
}
"""Blocks that only make sense inside a workspace (here: its schedule 'weekdays' and template history.j2),
with the problem each has on its own."""

NOT_CONFIG = {"project"}
"""Top-level tables that mark a block as another file (a ``pyproject.toml`` entry point), not a config."""


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    text: str

    @property
    def label(self) -> str:
        return f"{self.document.name}: {self.text.splitlines()[0].split('#')[0].strip()}"

    @property
    def data(self) -> dict[str, Any]:
        return tomllib.loads(self.text)


def toml_blocks(document: Path) -> list[Block]:
    text = document.read_text(encoding="utf-8")
    return [
        Block(document, text.count("\n", 0, match.start()) + 2, textwrap.dedent(match["body"]))
        for match in _FENCE.finditer(text)
    ]


def all_blocks() -> list[Block]:
    assert SHARED.is_dir(), f"the shared docs are expected at {SHARED} (../shared from the repository)"
    return [block for document in DOCUMENTS for block in toml_blocks(document)]


BLOCKS = [block for block in all_blocks() if not NOT_CONFIG & set(block.data)]


def test_the_other_toml_blocks_are_the_adapter_entry_point() -> None:
    """The one block that is not a config: a third-party adapter's pyproject.toml, naming tagcast's group."""
    others = [block for block in all_blocks() if NOT_CONFIG & set(block.data)]
    assert [block.label for block in others] == ['adapters.md: [project.entry-points."tagcast.adapters"]']
    assert others[0].data["project"]["entry-points"][GROUP] == {"pigeon": "tagcast_pigeon:PigeonAdapter"}


def _id(block: Block) -> str:
    return f"{block.document.name}:{block.line}"


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` added to ``base`` as a reader adds a block to their file: tables merge key by key, a value
    replaces the one there, an array of tables (``[[rules]]``) gets the new entries after the old ones."""
    out = dict(base)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merged(old, value)
        elif isinstance(old, list) and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            out[key] = [*old, *value]
        else:
            out[key] = value
    return out


def validate(root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("config/tagcast.toml is valid: "), result.output
    assert "warning" not in result.output, "a documented channel sets a key its network does not use"
    return load_workspace(root).settings


def test_the_documents_hold_the_examples_this_suite_promises_to_check() -> None:
    labels = [block.label for block in BLOCKS]
    assert "DESIGN.md: [store]" in labels, "the user-facing contract's config"
    assert "README.md: [channels.masto]" in labels
    assert "configuration.md: [schedules.weekdays]" in labels
    assert "configuration.md: [render]" in labels
    assert "operations.md: [channels.ops]" in labels
    assert set(FRAGMENTS) <= set(labels), "a fragment listed here is no longer in the documents"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.label not in FRAGMENTS], ids=_id)
def test_example_is_a_valid_config_on_its_own(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tagcast.toml").write_text(block.text, encoding="utf-8")
    settings = validate(tmp_path, monkeypatch)
    for name in block.data.get("channels", {}):
        assert name in settings.channels


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.label in FRAGMENTS], ids=_id)
def test_a_fragment_is_one_only_for_the_stated_reason(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tagcast.toml").write_text(block.text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "validate"])
    assert result.exit_code == 1
    expected = FRAGMENTS[block.label]
    for problem in expected:
        assert problem in result.output
    assert result.output.endswith(f"{len(expected)} problem(s) in config/tagcast.toml\n"), result.output


@pytest.mark.parametrize("block", BLOCKS, ids=_id)
def test_example_added_to_the_shipped_config_is_valid(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shipped = tomllib.loads((REPO / "config" / "tagcast.toml").read_text(encoding="utf-8"))
    combined = tomlkit.dumps(merged(shipped, block.data))
    (tmp_path / "config" / "tagcast.toml").write_text(combined, encoding="utf-8")
    settings = validate(tmp_path, monkeypatch)
    for name, table in block.data.get("channels", {}).items():
        assert settings.channels[name].network == table["network"]
    rules = block.data.get("rules", [])
    if rules:
        assert [r.channels for r in settings.rules[-len(rules) :]] == [r["channels"] for r in rules]


def test_the_contract_config_needs_no_defaults_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DESIGN's example has no [defaults] and no 'file' channel: the implicit default rule is unused."""
    contract = next(block for block in BLOCKS if block.label == "DESIGN.md: [store]")
    assert "defaults" not in contract.data
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tagcast.toml").write_text(contract.text, encoding="utf-8")
    settings = validate(tmp_path, monkeypatch)
    assert list(settings.channels) == ["bsky"]
    assert settings.defaults.channels == []
    assert settings.schedules["weekdays"].slots == ["mon-fri 09:00", "mon-fri 13:30"]
