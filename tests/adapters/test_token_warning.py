"""``[alerts] token_warning``: ``tagcast channels test`` records when a token expires (as the fakes of
Facebook, LinkedIn and Threads say it), and ``tagcast status --check`` fails, naming the channel and what to
do, when one that tagcast cannot refresh expires within the warning."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fakes.facebook import FacebookFake
from fakes.linkedin import LinkedInFake
from fakes.threads import ThreadsFake
from typer.testing import CliRunner, Result

from scheduler.cli.app import app

DAY = 86400
TOKENS = {"THREADS": "th-warn-secret-1", "LINKEDIN": "li-warn-secret-2", "FACEBOOK": "fb-warn-secret-3"}


@pytest.fixture
def facebook() -> Iterator[FacebookFake]:
    with FacebookFake(token=TOKENS["FACEBOOK"]).running() as fake:
        yield fake


@pytest.fixture
def linkedin() -> Iterator[LinkedInFake]:
    with LinkedInFake(token=TOKENS["LINKEDIN"]).running() as fake:
        yield fake


def workspace(tmp_path: Path, channels: str, alerts: str = "") -> Path:
    root = tmp_path / "ws"
    (root / "config").mkdir(parents=True)
    (root / "config" / "tagcast.toml").write_text(channels + alerts, encoding="utf-8")
    return root


def facebook_channel(fake: FacebookFake) -> str:
    return (
        f'[channels.fbpage]\nnetwork = "facebook"\npage_id = "{fake.page_id}"\nbase_url = "{fake.api_url}"\n'
    )


def tagcast(root: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """``tagcast ARGS --config ROOT`` with the Facebook Page token (or ``env``) in the environment."""
    given = {"TAGCAST_CHANNELS__FBPAGE__TOKEN": TOKENS["FACEBOOK"]} if env is None else env
    return CliRunner().invoke(app, [*args, "--config", str(root)], env={"COLUMNS": "300", **given})


def test_a_facebook_token_expiring_in_3_days_fails_status_check_naming_the_channel(
    tmp_path: Path, facebook: FacebookFake
) -> None:
    facebook.token_expires_at = int(time.time()) + 3 * DAY
    root = workspace(tmp_path, facebook_channel(facebook))
    assert tagcast(root, "status", "--check").exit_code == 0, "nothing is known before a check"
    tested = tagcast(root, "channels", "test", "fbpage")
    assert tested.exit_code == 0, tested.output
    assert "(in 3 days)" in tested.stdout
    result = tagcast(root, "status", "--check")
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("- ")]
    assert line.startswith("- channel fbpage: the token expires on ")
    assert (
        "(in 3 days) and tagcast cannot refresh it: create a new token and put it in the file named by "
        in line
    )
    assert "channels.fbpage.token_file (or in TAGCAST_CHANNELS__FBPAGE__TOKEN)" in line
    assert TOKENS["FACEBOOK"] not in result.output


def test_a_facebook_token_expiring_in_30_days_is_fine(tmp_path: Path, facebook: FacebookFake) -> None:
    facebook.token_expires_at = int(time.time()) + 30 * DAY
    root = workspace(tmp_path, facebook_channel(facebook))
    assert tagcast(root, "channels", "test", "fbpage").exit_code == 0
    result = tagcast(root, "status", "--check")
    assert (result.exit_code, result.stdout.strip()) == (0, "ok: nothing needs a person")


def test_token_warning_sets_how_long_before(tmp_path: Path, facebook: FacebookFake) -> None:
    facebook.token_expires_at = int(time.time()) + 30 * DAY
    root = workspace(tmp_path, facebook_channel(facebook), '[alerts]\ntoken_warning = "45d"\n')
    assert tagcast(root, "channels", "test", "fbpage").exit_code == 0
    result = tagcast(root, "status", "--check")
    assert result.exit_code == 1, result.output
    assert "channel fbpage: the token expires on" in result.stdout and "(in 30 days)" in result.stdout


def test_a_page_token_that_never_expires_clears_what_was_recorded(
    tmp_path: Path, facebook: FacebookFake
) -> None:
    facebook.token_expires_at = int(time.time()) + 2 * DAY
    root = workspace(tmp_path, facebook_channel(facebook))
    assert tagcast(root, "channels", "test", "fbpage").exit_code == 0
    assert tagcast(root, "status", "--check").exit_code == 1
    facebook.token_expires_at = 0  # a new Page token that does not expire
    assert "the token does not expire" in tagcast(root, "channels", "test", "fbpage").stdout
    assert tagcast(root, "status", "--check").exit_code == 0


def linkedin_channel(fake: LinkedInFake) -> str:
    return (
        "[channels.li]\n"
        'network = "linkedin"\n'
        f'author = "{fake.person}"\n'
        'version = "202511"\n'
        f'client_id = "{fake.client[0]}"\n'
        f'base_url = "{fake.base_url}"\n'
    )


def linkedin_env(fake: LinkedInFake, *, refresh: bool) -> dict[str, str]:
    env = {"TAGCAST_CHANNELS__LI__CLIENT_SECRET": fake.client[1]}
    if refresh:
        env["TAGCAST_CHANNELS__LI__OAUTH2_REFRESH_TOKEN"] = fake.refresh_token
    return env


@pytest.mark.parametrize(("refresh", "code"), [(False, 1), (True, 0)])
def test_a_linkedin_token_expiring_in_3_days_is_reported_only_without_a_refresh_token(
    tmp_path: Path, linkedin: LinkedInFake, refresh: bool, code: int
) -> None:
    linkedin.expires_at = int(time.time()) + 3 * DAY
    root = workspace(tmp_path, linkedin_channel(linkedin))
    env = {"TAGCAST_CHANNELS__LI__TOKEN": TOKENS["LINKEDIN"]} | linkedin_env(linkedin, refresh=refresh)
    tested = tagcast(root, "channels", "test", "li", env=env)
    assert tested.exit_code == 0, tested.output
    result = tagcast(root, "status", "--check", env=env)
    assert result.exit_code == code, result.output
    if code:
        assert "channel li: the token expires on" in result.stdout
        assert "TAGCAST_CHANNELS__LI__TOKEN" in result.stdout


def test_a_threads_token_that_tagcast_refreshes_is_not_reported(tmp_path: Path) -> None:
    with ExitStack() as stack:
        fake = stack.enter_context(ThreadsFake(token=TOKENS["THREADS"]).running())
        root = workspace(
            tmp_path,
            f'[channels.th]\nnetwork = "threads"\ntoken_file = "th.token"\nbase_url = "{fake.api_url}"\n',
            '[alerts]\ntoken_warning = "90d"\n',  # wider than the 60 days of a refreshed token
        )
        (root / "th.token").write_text(TOKENS["THREADS"] + "\n", encoding="utf-8")
        two_days_ago = time.time() - 2 * DAY
        os.utime(root / "th.token", (two_days_ago, two_days_ago))
        tested = tagcast(root, "channels", "test", "th", env={})
        assert tested.exit_code == 0, tested.output
        assert "token refreshed" in tested.stdout
        result = tagcast(root, "status", "--check", env={})
        assert (result.exit_code, result.stdout.strip()) == (0, "ok: nothing needs a person")


def test_an_outbox_that_cannot_be_opened_does_not_fail_the_check(
    tmp_path: Path, facebook: FacebookFake
) -> None:
    facebook.token_expires_at = int(time.time()) + 3 * DAY
    root = workspace(tmp_path, '[store]\nurl = "sqlite:///blocker/tagcast.db"\n' + facebook_channel(facebook))
    (root / "blocker").write_text("a file where the outbox folder would be\n", encoding="utf-8")
    result = tagcast(root, "channels", "test", "fbpage")
    assert result.exit_code == 0, result.output
    assert "(in 3 days)" in result.stdout
    assert "the expiry is not kept for `tagcast status --check`:" in result.stdout
