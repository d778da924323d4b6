"""Which alert channels carry an alert: configured and enabled ones with an installed adapter; the others are
logged and skipped. The adapters are cached per channel until a reload."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from scheduler.alerts.sender import AlertSender
from scheduler.config.settings import Settings


def alert_settings(channels: dict[str, dict[str, object]], alert_to: list[str]) -> Settings:
    return Settings.model_validate({"channels": channels, "alerts": {"channels": alert_to}})


def written(root: Path, channel: str) -> int:
    return len(list((root / "var" / "outbox" / channel).glob("alert-*.json")))


async def send(sender: AlertSender, text: str) -> bool:
    return await sender.send(text, redact=lambda text: text)


def test_disabled_unknown_and_unconfigured_channels_carry_no_alert(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    channels: dict[str, dict[str, object]] = {
        "ops": {"network": "file"},
        "off": {"network": "file", "enabled": False},
        "odd": {"network": "nosuch"},
    }

    async def go() -> bool:
        async with httpx.AsyncClient() as http:
            settings = alert_settings(channels, ["ops", "off", "odd", "gone"])
            return await send(AlertSender(settings, tmp_path, http), "tagcast: something needs a person")

    with caplog.at_level(logging.WARNING, logger="tagcast.alerts"):
        assert asyncio.run(go())
    assert written(tmp_path, "ops") == 1 and written(tmp_path, "off") == 0
    assert "channel 'off' is disabled (enabled = false); no alert goes through it" in caplog.text
    assert "channel 'gone' is not configured; no alert goes through it" in caplog.text
    assert (
        "alert not sent through channel odd: UnknownNetwork: no adapter for network 'nosuch'" in caplog.text
    )


def test_the_adapter_is_kept_until_a_reload_applies_the_new_config(tmp_path: Path) -> None:
    async def go() -> list[bool]:
        async with httpx.AsyncClient() as http:
            sender = AlertSender(alert_settings({"ops": {"network": "file"}}, ["ops"]), tmp_path, http)
            results = [await send(sender, "first")]
            adapter = sender.adapters.get("ops")
            results.append(await send(sender, "second"))
            assert sender.adapters.get("ops") is adapter
            sender.reload(alert_settings({"ops": {"network": "file", "enabled": False}}, ["ops"]))
            results.append(await send(sender, "third"))
            return results

    assert asyncio.run(go()) == [True, True, False]
    assert written(tmp_path, "ops") == 2
