"""``tagcast channels test`` for threads, linkedin and facebook channels written with the keys of DESIGN.md
("The contract, extended"), each against its fake: who the channel posts as, and a rejected token."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes.facebook import FacebookFake
from fakes.linkedin import LinkedInFake
from fakes.threads import ThreadsFake
from typer.testing import CliRunner, Result

from scheduler.cli.app import app

TOKENS = {"THREADS": "th-cli-secret-1", "LINKEDIN": "li-cli-secret-2", "FACEBOOK": "fb-cli-secret-3"}


@dataclass
class Fakes:
    threads: ThreadsFake
    linkedin: LinkedInFake
    facebook: FacebookFake


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with ExitStack() as stack:
        yield Fakes(
            threads=stack.enter_context(ThreadsFake(token=TOKENS["THREADS"]).running()),
            linkedin=stack.enter_context(LinkedInFake(token=TOKENS["LINKEDIN"]).running()),
            facebook=stack.enter_context(FacebookFake(token=TOKENS["FACEBOOK"]).running()),
        )


def workspace(tmp_path: Path, fakes: Fakes) -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text(
        "[channels.threads]\n"
        'network = "threads"\n'
        'user_id = "me"\n'
        f'base_url = "{fakes.threads.api_url}"\n\n'
        "[channels.linkedin]\n"
        'network = "linkedin"\n'
        f'author = "{fakes.linkedin.person}"\n'
        'version = "202511"\n'
        f'base_url = "{fakes.linkedin.base_url}"\n\n'
        "[channels.facebook]\n"
        'network = "facebook"\n'
        f'page_id = "{fakes.facebook.page_id}"\n'
        f'base_url = "{fakes.facebook.api_url}"\n',
        encoding="utf-8",
    )
    return root


def tagcast(root: Path, *args: str, tokens: dict[str, str] = TOKENS) -> Result:
    env = {"COLUMNS": "200", **{f"TAGCAST_CHANNELS__{name}__TOKEN": v for name, v in tokens.items()}}
    return CliRunner().invoke(app, [*args, "--config", str(root)], env=env)


@pytest.mark.parametrize(
    ("channel", "says"),
    [
        ("threads", "ok threads (threads) posts as @alice.threads"),
        ("linkedin", "ok linkedin (linkedin) posts as Alice Example (urn:li:person:AbC123xyz)"),
        ("facebook", "ok facebook (facebook) posts as Tagcast News (Page 104857392011234)"),
    ],
)
def test_channels_test_says_who_it_posts_as(tmp_path: Path, fakes: Fakes, channel: str, says: str) -> None:
    result = tagcast(workspace(tmp_path, fakes), "channels", "test", channel)
    assert result.exit_code == 0, result.output
    assert says in result.stdout
    assert not any(token in result.output for token in TOKENS.values())
    for fake in (fakes.threads, fakes.linkedin, fakes.facebook):
        assert fake.posts == []


@pytest.mark.parametrize("channel", ["threads", "linkedin", "facebook"])
def test_channels_test_with_a_rejected_token(tmp_path: Path, fakes: Fakes, channel: str) -> None:
    tokens = {**TOKENS, channel.upper(): "revoked-cli-token-9"}
    result = tagcast(workspace(tmp_path, fakes), "channels", "test", channel, tokens=tokens)
    assert result.exit_code == 1
    assert f"{channel} ({channel}) cannot post" in result.stderr
    assert "revoked-cli-token-9" not in result.output


def test_the_design_keys_make_a_valid_config(tmp_path: Path, fakes: Fakes) -> None:
    result = tagcast(workspace(tmp_path, fakes), "config", "show")
    assert result.exit_code == 0, result.output
    for key in ("user_id", "author", "version", "page_id"):
        assert key in result.stdout
    assert not any(token in result.output for token in TOKENS.values())


def test_a_token_file_is_read_and_refreshed(tmp_path: Path, fakes: Fakes) -> None:
    root = workspace(tmp_path, fakes)
    (root / "threads.token").write_text(TOKENS["THREADS"] + "\n", encoding="utf-8")
    two_days_ago = time.time() - 2 * 86400
    os.utime(root / "threads.token", (two_days_ago, two_days_ago))
    config = root / "config" / "tagcast.toml"
    text = config.read_text(encoding="utf-8").replace(
        'user_id = "me"\n', 'user_id = "me"\ntoken_file = "threads.token"\n'
    )
    config.write_text(text, encoding="utf-8")
    result = tagcast(root, "channels", "test", "threads", tokens={})
    assert result.exit_code == 0, result.output
    assert "@alice.threads" in result.stdout
    assert "token refreshed and stored in threads.token: the token expires on" in result.stdout
    fresh = (root / "threads.token").read_text(encoding="utf-8").strip()
    assert fresh == f"{TOKENS['THREADS']}-refreshed-1"
    assert config.read_text(encoding="utf-8") == text, "a refreshed token never goes into the TOML"
    assert fresh not in result.output


def test_channels_test_prints_when_a_facebook_token_expires(tmp_path: Path, fakes: Fakes) -> None:
    fakes.facebook.token_expires_at = 4_102_444_800
    result = tagcast(workspace(tmp_path, fakes), "channels", "test", "facebook")
    assert result.exit_code == 0, result.output
    assert "the token expires on 2100-01-01" in result.stdout
