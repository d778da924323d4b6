"""URLs are checked when the config is read; a message never echoes one (it may hold a password)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import ConfigError
from scheduler.validation import validate_config_text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mastodon.social/secret-token", "must start with https://"),
        ("ftp://files.example/secret-token", "must start with https://"),
        ("https://host:port-secret-token/", "is not a URL"),
        ("https:///secret-token", "is not a URL with a host name"),
        ("https://exa mple.org/secret-token", "is not a URL with a host name"),
        ("https://[::1/secret-token", "is not a URL"),
    ],
)
@pytest.mark.parametrize("key", ["base_url", "url"])
def test_a_channel_url_must_be_http(key: str, url: str, words: str, tmp_path: Path) -> None:
    text = f'[channels.hook]\nnetwork = "webhook"\n{key} = "{url}"\n'
    with pytest.raises(ConfigError) as caught:
        validate_config_text(text, tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"channels.hook.{key} (config/tagcast.toml:3): {words}")
    assert "expected an http(s) URL like https://mastodon.social" in problem
    assert "secret-token" not in problem


@pytest.mark.parametrize(
    "url", ["https://mastodon.social", "http://127.0.0.1:8080/", "https://hooks.example/in?token=abc#x"]
)
def test_http_urls_are_fine(url: str, tmp_path: Path) -> None:
    text = f'[channels.hook]\nnetwork = "webhook"\nurl = "{url}"\nbase_url = "{url}"\n'
    assert validate_config_text(text, tmp_path).channels["hook"].url == url


@pytest.mark.parametrize("url", ["::garbage", "postgres:/tagcast:hunter2@db/x", "", "sqlite"])
def test_a_store_url_must_be_a_database_url(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config_text(f'[store]\nurl = "{url}"\n', tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith("store.url (config/tagcast.toml:2): is not a database URL; write it like ")
    assert "hunter2" not in problem


@pytest.mark.parametrize(
    "url", ["sqlite:///var/tagcast.db", "sqlite://", "postgresql+psycopg://tagcast@db.example:5432/tagcast"]
)
def test_database_urls_are_fine(url: str, tmp_path: Path) -> None:
    assert validate_config_text(f'[store]\nurl = "{url}"\n', tmp_path).store.url == url
