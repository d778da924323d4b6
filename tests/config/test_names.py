"""Channel and schedule names are identifiers; template names stay inside the templates folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from scheduler.cli.channels_edit import add_commands
from scheduler.config.keys import dotted
from scheduler.config.names import NAME, NAME_RULE
from scheduler.errors import ConfigError, TemplateError
from scheduler.render import TemplateRenderer
from scheduler.validation import validate_config_text

BAD_NAMES = [
    "../../x",
    "/tmp/x",
    "my bot",
    "news\nforged log line",
    "a\x1b[31mred",
    "my.bot",
    "1st",
    "_x",
    "-x",
    "x" * 65,
    "bsky\u202e",
    "Bsky",
]
GOOD_NAMES = ["bsky", "news_x", "my-bot", "a1", "x" * 64]


def toml_key(name: str) -> str:
    """``name`` as a quoted TOML key (basic string, escapes for control characters)."""
    return dotted([name]) if not NAME.fullmatch(name) else name


def channel_config(name: str) -> str:
    return f'[channels.{toml_key(name)}]\nnetwork = "file"\n'


def refused(text: str, root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_config_text(text, root)
    return caught.value.problems


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_a_channel_name_that_is_no_identifier_is_refused(name: str, tmp_path: Path) -> None:
    (problem,) = refused(channel_config(name), tmp_path)
    assert problem.startswith(f"{dotted(['channels', name])} (config/tagcast.toml:1): {name!r} cannot be")
    assert f"cannot be a channel name: use {NAME_RULE}" in problem
    assert problem.isprintable(), "control characters in a name are shown escaped, never sent to a terminal"


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_identifiers_are_channel_names(name: str, tmp_path: Path) -> None:
    assert list(validate_config_text(channel_config(name), tmp_path).channels) == [name]


def test_an_upper_case_name_gets_its_lower_case_suggested(tmp_path: Path) -> None:
    (problem,) = refused(channel_config("Bsky"), tmp_path)
    assert "did you mean 'bsky'?" in problem
    assert "TAGCAST_CHANNELS__BSKY__TOKEN match them in any case" in problem


@pytest.mark.parametrize("name", ["../up", "my sched", "daily\n"], ids=repr)
def test_a_schedule_name_that_is_no_identifier_is_refused(name: str, tmp_path: Path) -> None:
    text = f'[schedules.{toml_key(name)}]\nslots = ["daily 09:00"]\n'
    (problem,) = refused(text, tmp_path)
    assert problem.startswith(f"{dotted(['schedules', name])} (config/tagcast.toml:1): {name!r} cannot be")
    assert "cannot be a schedule name" in problem


def test_a_bad_name_from_dotenv_points_at_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TAGCAST_CHANNELS__MY.BOT__NETWORK=file\n", encoding="utf-8")
    (problem,) = refused(channel_config("bsky"), tmp_path)
    assert problem.startswith(
        "channels.\"my.bot\" (from .env line 1: TAGCAST_CHANNELS__MY.BOT__NETWORK): 'my.bot' cannot be"
    )


def test_a_rule_naming_a_refused_channel_says_so_too(tmp_path: Path) -> None:
    text = channel_config("../x") + '\n[[rules]]\ntags = ["a"]\nchannels = ["../x"]\n'
    problems = refused(text, tmp_path)
    assert [p.split(" ", 1)[0] for p in problems] == ['channels."../x"', "rules[0].channels"]


@pytest.mark.parametrize("name", ["a\x1b[31mred", "news\nforged", "bsky\u202e"], ids=repr)
def test_a_rule_naming_a_channel_with_control_characters_shows_them_escaped(
    name: str, tmp_path: Path
) -> None:
    text = channel_config("bsky") + f'\n[[rules]]\ntags = ["a"]\nchannels = [{json.dumps(name)}]\n'
    problems = refused(text, tmp_path)
    assert any(problem.startswith("rules[0].channels") for problem in problems)
    assert all(problem.isprintable() for problem in problems), problems


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_name_is_either_an_identifier_or_a_problem(name: str) -> None:
    root = Path("/nonexistent-workspace")
    text = channel_config(name)
    if NAME.fullmatch(name):
        assert list(validate_config_text(text, root).channels) == [name]
        return
    with pytest.raises(ConfigError) as caught:
        validate_config_text(text, root)
    assert any("cannot be a channel name" in p for p in caught.value.problems)
    assert all(p.isprintable() for p in caught.value.problems)


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("../../etc/passwd", "'..' would leave the templates folder"),
        ("sub/../../x.j2", "'..' would leave the templates folder"),
        ("/etc/passwd", "it is a path outside the templates folder"),
        ("~/.ssh/id_rsa", "it is a path outside the templates folder"),
        ("..\\x.j2", "it is a path outside the templates folder"),
        ("C:/x.j2", "it is a path outside the templates folder"),
        ("x\x1b[2J.j2", "it is empty or holds control characters"),
        (" ", "it is empty or holds control characters"),
    ],
)
def test_a_template_name_that_leaves_the_folder_is_refused(template: str, why: str, tmp_path: Path) -> None:
    text = f'[channels.file]\nnetwork = "file"\ntemplate = {dotted([template])}\n'
    (problem,) = refused(text, tmp_path)
    assert problem.startswith(f"channels.file.template (config/tagcast.toml:3): {template!r} cannot be")
    assert why in problem
    rule = channel_config("file") + f'\n[[rules]]\nchannels = ["file"]\ntemplate = {dotted([template])}\n'
    (problem,) = refused(rule, tmp_path)
    assert problem.startswith("rules.0.template (config/tagcast.toml:6): ")


def test_a_template_in_a_subfolder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "config" / "templates" / "news").mkdir(parents=True)
    (tmp_path / "config" / "templates" / "news" / "short.j2").write_text("{{ title }}", encoding="utf-8")
    text = '[channels.file]\nnetwork = "file"\ntemplate = "news/short.j2"\n'
    assert validate_config_text(text, tmp_path).channels["file"].template == "news/short.j2"


def test_the_template_loader_never_reads_outside_its_folders(tmp_path: Path) -> None:
    """Names from articles (front matter ``template``) and from templates themselves reach the loader too."""
    folder = tmp_path / "ws" / "config" / "templates"
    folder.mkdir(parents=True)
    secret = tmp_path / "ws" / "secret.j2"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    (folder / "sneaky.j2").write_text('{% include "../../secret.j2" %}', encoding="utf-8")
    (folder / "sneaky_abs.j2").write_text(f'{{% include "{secret}" %}}', encoding="utf-8")
    renderer = TemplateRenderer(folder)
    for name in ("../secret.j2", "../../secret.j2", str(secret), "./../secret.j2"):
        assert not renderer.exists(name), name
        with pytest.raises(TemplateError) as caught:
            renderer.render(name, {})
        assert "TOP-SECRET" not in str(caught.value)
    for name in ("sneaky.j2", "sneaky_abs.j2"):
        with pytest.raises(TemplateError):
            renderer.check(name)
        with pytest.raises(TemplateError) as caught:
            renderer.render(name, {})
        assert "TOP-SECRET" not in str(caught.value)


channels_group = typer.Typer()
add_commands(channels_group)


@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_channels_add_refuses_a_name_that_is_no_identifier(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "tagcast.toml"
    config.write_text(channel_config("file"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(channels_group, ["add", "--network", "file", "--", name])
    assert result.exit_code == 1, result.output
    assert f"error: {name!r} cannot be a channel name: use {NAME_RULE}" in result.stderr
    assert "config/tagcast.toml was not changed" in result.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", result.stderr), "no raw control character"
    assert config.read_text(encoding="utf-8") == channel_config("file")


def test_channels_add_accepts_a_hyphen_and_remove_clears_a_refused_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "tagcast.toml"
    config.write_text(channel_config("file") + "\n" + channel_config("Bad Name"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(channels_group, ["remove", "Bad Name"])
    assert result.exit_code == 0, result.output
    assert 'removed [channels."Bad Name"]' in result.stderr
    result = CliRunner().invoke(channels_group, ["add", "my-bot", "--network", "file"])
    assert result.exit_code == 0, result.output
    assert (
        validate_config_text(config.read_text(encoding="utf-8"), tmp_path).channels["my-bot"].network
        == "file"
    )


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("a\x00b", "holds control characters"),
        ("posts\n", "holds control characters"),
        ("", "is empty"),
        ("x" * 256, "too long"),
        ("~no-such-user-here/posts", "names no home folder on this machine"),
    ],
    ids=repr,
)
@pytest.mark.parametrize(
    "key",
    [
        ("defaults", "posts"),
        ("defaults", "templates"),
        ("channels", "f", "path"),
        ("channels", "f", "token_file"),
    ],
)
def test_a_path_that_no_file_can_have_is_refused(
    key: tuple[str, ...], value: str, words: str, tmp_path: Path
) -> None:
    table, name = ".".join(key[:-1]), key[-1]
    text = f"[{table}]\n{name} = {json.dumps(value)}\n"
    if key[0] == "channels":
        text = f'[{table}]\nnetwork = "file"\n{name} = {json.dumps(value)}\n'
    (problem,) = refused(text, tmp_path)
    assert problem.startswith(f"{'.'.join(key)} (config/tagcast.toml:")
    assert words in problem
