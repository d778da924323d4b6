"""The adapter cache of the dispatcher (one adapter per channel, dropped on reload, why a channel cannot post)
and ``scrub``, which masks a channel's secrets in the messages of its adapter."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scheduler.config.models import ChannelSettings
from scheduler.config.settings import Settings
from scheduler.service.channels import AdapterCache, ChannelUnavailable, scrub

TOKEN = "123456:AAE-very-secret"


def settings(**channels: ChannelSettings) -> Settings:
    return Settings.model_validate({"channels": channels})


def channel(**keys: object) -> ChannelSettings:
    return ChannelSettings.model_validate({"network": "file", **keys})


@pytest.fixture
def http() -> Iterator[httpx.AsyncClient]:
    client = httpx.AsyncClient()
    yield client
    asyncio.run(client.aclose())


def test_one_adapter_per_channel_shares_the_client_until_reload(
    tmp_path: Path, http: httpx.AsyncClient
) -> None:
    cache = AdapterCache(settings(a=channel(), b=channel()), tmp_path, http)
    first = cache.get("a")
    assert cache.get("a") is first and cache.get("b") is not first
    assert first.http is http and first.root == tmp_path and first.channel == "a"
    cache.reload(settings(a=channel()))
    assert cache.get("a") is not first
    with pytest.raises(ChannelUnavailable, match="'b' is no longer in the config"):
        cache.get("b")


def test_why_a_channel_cannot_post_says_what_to_do(tmp_path: Path, http: httpx.AsyncClient) -> None:
    cache = AdapterCache(settings(off=channel(enabled=False), odd=channel(network="nosuch")), tmp_path, http)
    with pytest.raises(ChannelUnavailable, match=r"set enabled = true and run `tagcast queue resume off`"):
        cache.get("off")
    with pytest.raises(ChannelUnavailable) as missing:
        cache.get("odd")
    assert "no adapter for network 'nosuch'" in missing.value.reason
    assert missing.value.reason.endswith("install the adapter, then run `tagcast queue resume odd`")
    with pytest.raises(ChannelUnavailable, match="no longer in the config"):
        cache.get("gone")


def test_adapter_builds_a_disabled_channel_and_caches_it(tmp_path: Path, http: httpx.AsyncClient) -> None:
    off = channel(enabled=False)
    cache = AdapterCache(settings(off=off), tmp_path, http)
    adapter = cache.adapter("off", off)
    assert adapter.settings is off and cache.adapter("off", off) is adapter


def test_scrub_masks_the_channels_secrets_as_before() -> None:
    tg = ChannelSettings.model_validate({"network": "telegram", "chat_id": "@x", "bot_token": TOKEN})
    assert scrub(f"401 for bot{TOKEN}/getMe", tg) == "401 for bot**********/getMe"
    assert scrub(f"401 for bot{TOKEN}", None) == f"401 for bot{TOKEN}"
    short = channel(network="webhook", url="https://h.example", secret="abc")
    assert scrub("abc abc", short) == "abc abc"
