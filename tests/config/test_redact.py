"""``Redactor.for_channel``: one channel's secrets, in every form ``Redactor`` masks, and nothing else."""

from __future__ import annotations

from scheduler.config.models import ChannelSettings
from scheduler.config.redact import MASK, Redactor, channel_secret_values

TOKEN = "123456:AAE-bot/token+x"
SECRET = "whsec-0815"


def channel(**keys: object) -> ChannelSettings:
    return ChannelSettings.model_validate(keys)


def test_only_the_secrets_of_the_channel_are_masked_in_every_form() -> None:
    tg = channel(network="telegram", chat_id="@news", bot_token=TOKEN)
    redact = Redactor.for_channel(tg)
    text = f"bot{TOKEN}/getMe; ?t=123456%3AAAE-bot%2Ftoken%2Bx; other {SECRET}"
    assert redact(text) == f"bot{MASK}/getMe; ?t={MASK}; other {SECRET}"


def test_the_set_secret_keys_are_its_values() -> None:
    hook = channel(network="webhook", url="https://h.example", secret=SECRET)
    assert channel_secret_values(hook) == [SECRET]
    assert channel_secret_values(channel(network="file")) == []


def test_no_channel_or_short_secrets_mask_nothing() -> None:
    assert not Redactor.for_channel(None)
    short = channel(network="webhook", url="https://h.example", secret="abc")
    assert Redactor.for_channel(short)("abc abc") == "abc abc"
