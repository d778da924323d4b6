"""Discord beyond the contract: the request, threads as consecutive messages, links, errors, redaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.discord import DiscordFake
from fakes.server import closed_url
from pydantic import SecretStr

from scheduler.adapters.discord import DiscordAdapter, form_errors, message_url
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)

from .contract import THREAD, DurableJournal, client, network_fault, outgoing, shown

TOKEN = "Zx9-secret-webhook-token_ABCdef"

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[DiscordFake]:
    with DiscordFake(token=TOKEN).running() as running:
        assert isinstance(running, DiscordFake)
        yield running


def adapter(fake: DiscordFake, http: httpx.AsyncClient, **overrides: Any) -> DiscordAdapter:
    values: dict[str, Any] = {"network": "discord", "webhook_url": SecretStr(fake.webhook_url()), **overrides}
    return DiscordAdapter("chat", ChannelSettings(**values), http=http, root=Path("."))


def test_form_errors_flatten_discords_nested_errors() -> None:
    errors = {
        "content": {
            "_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]
        },
        "embeds": {"0": {"title": {"_errors": [{"code": "X", "message": "Too long"}]}}},
    }
    assert form_errors(errors) == ["content: Must be 2000 or fewer in length.", "embeds.0.title: Too long"]


def test_message_url() -> None:
    assert message_url("1", "2", "3") == "https://discord.com/channels/1/2/3"
    assert message_url(None, "2", "3") is None


async def test_what_the_webhook_receives(fake: DiscordFake) -> None:
    text = "@everyone look <@1234> <@&99> #KhalkhinGol"
    async with client() as http:
        receipt = await adapter(fake, http, username="Tagcast Bot").publish(
            outgoing([text]), DurableJournal().journal()
        )
    [request] = fake.requests_to("POST", "/api/webhooks/")
    assert request.query == {"wait": ["true"]}
    assert request.json() == {"content": text, "allowed_mentions": {"parse": []}, "username": "Tagcast Bot"}
    [message] = fake.messages
    assert message.pinged == []
    assert receipt.remote_ids == (message.id,)
    assert receipt.url == f"https://discord.com/channels/{fake.guild_id}/{fake.channel_id}/{message.id}"


async def test_a_thread_is_consecutive_messages_in_order(fake: DiscordFake) -> None:
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
    assert [m.content for m in fake.messages] == list(THREAD)
    assert receipt.remote_ids == tuple(m.id for m in fake.messages)
    assert len(receipt.extra["urls"]) == 3
    assert len(fake.requests_to("GET", "/api/webhooks/")) == 1, "the guild is asked once"


async def test_into_a_discord_thread(fake: DiscordFake) -> None:
    thread = next(iter(fake.threads))
    async with client() as http:
        receipt = await adapter(fake, http, options={"thread_id": thread}).publish(
            outgoing(THREAD), DurableJournal().journal()
        )
        identity = await adapter(fake, http, options={"thread_id": thread}).check()
    assert {m.channel_id for m in fake.messages} == {thread}
    assert all(r.arg("thread_id") == thread for r in fake.requests_to("POST", "/api/webhooks/"))
    assert receipt.url == f"https://discord.com/channels/{fake.guild_id}/{thread}/{fake.messages[0].id}"
    assert f"thread {thread}" in identity.account


async def test_unknown_thread_is_permanent_and_names_the_option(fake: DiscordFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match=r"options\.thread_id") as caught:
            await adapter(fake, http, options={"thread_id": "42"}).publish(
                outgoing(["x"]), DurableJournal().journal()
            )
    assert not isinstance(caught.value, AuthError)


async def test_without_the_guild_the_url_is_none(fake: DiscordFake) -> None:
    fake.faults.server_error(status=503, method="GET")
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    assert receipt.remote_ids == (fake.messages[0].id,)
    assert receipt.url is None


async def test_failed_later_part_resumes_without_reposting(fake: DiscordFake) -> None:
    fake.faults.server_error(status=502, path="/api/webhooks/", method="POST", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        assert [m.content for m in fake.messages] == [THREAD[0]]
        assert durable.saved["discord"]["in_flight"] is None
        receipt = await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
    assert [m.content for m in fake.messages] == list(THREAD)
    assert receipt.remote_ids == tuple(m.id for m in fake.messages)


async def test_lost_answer_is_unknown_and_never_resent(fake: DiscordFake) -> None:
    fake.faults.commit_then_drop(path="/api/webhooks/", method="POST", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        with pytest.raises(UnknownOutcome, match="part 2 of 3"):
            await adapter(fake, http).reconcile(outgoing(THREAD), durable.journal())
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
    assert len(fake.requests_to("POST", "/api/webhooks/")) == 2
    assert len(fake.messages) == 2


async def test_rate_limit_reads_the_json_retry_after(fake: DiscordFake) -> None:
    fake.faults.rate_limited(wait=0.25, path="/api/webhooks/")
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 0.25


async def test_deleted_webhook_is_an_auth_error(fake: DiscordFake) -> None:
    fake.deleted = True
    async with client() as http:
        with pytest.raises(AuthError, match=r"webhook .* was deleted"):
            await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
        with pytest.raises(AuthError, match="was deleted"):
            await adapter(fake, http).check()


async def test_invalid_form_body_is_permanent_with_the_field_error(fake: DiscordFake) -> None:
    async with client() as http:
        with pytest.raises(
            PermanentDeliveryError, match="content: Must be 2000 or fewer in length"
        ) as caught:
            await adapter(fake, http, limit=3000).publish(outgoing(["a" * 2001]), DurableJournal().journal())
        assert not isinstance(caught.value, AuthError)
        with pytest.raises(PermanentDeliveryError, match="username"):
            await adapter(fake, http, username="Discord News").publish(
                outgoing(["x"]), DurableJournal().journal()
            )


async def test_over_length_is_refused_before_sending(fake: DiscordFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="2001 characters, limit 2000"):
            await adapter(fake, http).publish(outgoing(["ok", "a" * 2001]), DurableJournal().journal())
    assert fake.requests == []


async def test_check_names_webhook_and_channel(fake: DiscordFake) -> None:
    async with client() as http:
        identity = await adapter(fake, http).check()
    assert identity.account == f"webhook 'Tagcast' -> channel {fake.channel_id}"
    assert identity.url == f"https://discord.com/channels/{fake.guild_id}/{fake.channel_id}"
    assert fake.messages == []


@pytest.mark.parametrize("url", [None, "discord.com/api/webhooks/1/" + TOKEN])
async def test_missing_or_malformed_webhook_url(fake: DiscordFake, url: str | None) -> None:
    async with client() as http:
        with pytest.raises(AuthError, match="webhook_url") as caught:
            await adapter(fake, http, webhook_url=SecretStr(url) if url else None).check()
    assert TOKEN not in str(caught.value)


# --- the webhook token never shows --------------------------------------------------------------------------


def assert_no_secret(error: DeliveryError, secret: str) -> None:
    for text in shown(error):
        assert secret not in text


FAILURES: dict[str, type[DeliveryError]] = {
    "wrong-token": AuthError,
    "deleted": AuthError,
    "too-long-on-server": PermanentDeliveryError,
    "bad-username": PermanentDeliveryError,
    "unknown-thread": PermanentDeliveryError,
    "empty-locally": PermanentDeliveryError,
    "401-echoing-the-url": AuthError,
    "400-echoing-the-token": PermanentDeliveryError,
    "rate-limited": TransientDeliveryError,
    "server-error": TransientDeliveryError,
    "timeout": UnknownOutcome,
    "dropped": UnknownOutcome,
    "committed-then-dropped": UnknownOutcome,
    "connection-refused": TransientDeliveryError,
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_the_webhook_token_never_appears_in_an_error(fake: DiscordFake, kind: str) -> None:
    url, overrides, text = fake.webhook_url(), dict[str, Any](), "hello"
    network_fault(fake, kind, path="/api/webhooks/", method="POST")
    if kind == "wrong-token":
        url = fake.webhook_url("wrong-" + TOKEN)
    elif kind == "deleted":
        fake.deleted = True
    elif kind == "too-long-on-server":
        overrides, text = {"limit": 3000}, "a" * 2001
    elif kind == "bad-username":
        overrides = {"username": "clyde"}
    elif kind == "unknown-thread":
        overrides = {"options": {"thread_id": "42"}}
    elif kind == "empty-locally":
        text = "  "
    elif kind == "401-echoing-the-url":
        fake.refuse(401, {"message": f"Invalid Webhook Token for {url}", "code": 50027})
    elif kind == "400-echoing-the-token":
        fake.refuse(400, {"message": f"Invalid Form Body: token {TOKEN}", "code": 50035})
    elif kind == "connection-refused":
        url = url.replace(fake.base_url, closed_url())
    secret = url.rsplit("/", 1)[1]
    async with client() as http:
        chosen = adapter(fake, http, webhook_url=SecretStr(url), **overrides)
        with pytest.raises(FAILURES[kind]) as caught:
            await chosen.publish(outgoing([text]), DurableJournal().journal())
        assert_no_secret(caught.value, secret)
        if kind in ("wrong-token", "deleted", "connection-refused"):
            with pytest.raises(DeliveryError) as checked:
                await chosen.check()
            assert_no_secret(checked.value, secret)
