"""Telegram specifics beyond the contract: escaping, what the Bot API receives, links, errors, redaction."""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.server import closed_url
from fakes.telegram import Chat, EntityParseError, TelegramFake, parse_html, parse_markdown_v2
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from scheduler.adapters.base import Journal
from scheduler.adapters.telegram import (
    MARKDOWN_V2_RESERVED,
    TelegramAdapter,
    escape_html,
    escape_markdown_v2,
    message_link,
)
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)
from scheduler.models import Article

from .contract import THREAD, DurableJournal, client, outgoing, shown

TOKEN = "123456:AAHsecret-part-of-the-token"
SECRET_PART = TOKEN.split(":", 1)[1]
RESERVED = sorted(MARKDOWN_V2_RESERVED)


# --- escaping -----------------------------------------------------------------------------------------------


class TestEscapeMarkdownV2:
    def test_reserved_set_is_the_documented_one(self) -> None:
        assert set("\\_*[]()~`>#+-=|{}.!") == MARKDOWN_V2_RESERVED

    @pytest.mark.parametrize("char", RESERVED)
    def test_every_reserved_character_gets_a_backslash(self, char: str) -> None:
        assert escape_markdown_v2(f"a{char}b") == f"a\\{char}b"
        assert parse_markdown_v2(escape_markdown_v2(f"a{char}b")) == f"a{char}b"

    @pytest.mark.parametrize("char", [c for c in RESERVED if c != "\\"])
    def test_the_server_refuses_each_one_unescaped(self, char: str) -> None:
        with pytest.raises(EntityParseError):
            parse_markdown_v2(f"a{char}b")

    def test_a_lone_backslash_is_refused_unescaped(self) -> None:
        with pytest.raises(EntityParseError, match="reserved"):
            parse_markdown_v2("a\\")

    def test_other_characters_are_left_alone(self) -> None:
        plain = "".join(c for c in string.printable if c not in MARKDOWN_V2_RESERVED) + "é😀👨‍👩‍👧中<&\"'@"
        assert escape_markdown_v2(plain) == plain

    def test_a_realistic_post(self) -> None:
        text = "Khalkhin Gol (1939): Zhukov's win! #KhalkhinGol #WWII https://example.com/a_b?x=1-2"
        escaped = escape_markdown_v2(text)
        assert escaped == (
            "Khalkhin Gol \\(1939\\): Zhukov's win\\! \\#KhalkhinGol \\#WWII "
            "https://example\\.com/a\\_b?x\\=1\\-2"
        )
        assert parse_markdown_v2(escaped) == text

    @given(st.text())
    def test_round_trip_through_the_servers_parser(self, text: str) -> None:
        assert parse_markdown_v2(escape_markdown_v2(text)) == text


class TestEscapeHtml:
    @pytest.mark.parametrize(("char", "entity"), [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")])
    def test_each_special_character(self, char: str, entity: str) -> None:
        assert escape_html(f"a{char}b") == f"a{entity}b"

    def test_ampersand_is_escaped_once_even_before_an_entity(self) -> None:
        assert escape_html("&lt;b&gt; &amp;") == "&amp;lt;b&amp;gt; &amp;amp;"
        assert parse_html(escape_html("&lt;b&gt;")) == "&lt;b&gt;"

    def test_other_characters_are_left_alone(self) -> None:
        plain = string.printable.replace("&", "").replace("<", "").replace(">", "") + "é😀\"'#"
        assert escape_html(plain) == plain

    @pytest.mark.parametrize("text", ["a < b", "a & b", "<b>not bold</b>", "x > y"])
    def test_the_server_refuses_each_one_unescaped(self, text: str) -> None:
        if text == "<b>not bold</b>":
            assert parse_html(text) == "not bold"
        else:
            with pytest.raises(EntityParseError):
                parse_html(text)
        assert parse_html(escape_html(text)) == text

    @given(st.text())
    def test_round_trip_through_the_servers_parser(self, text: str) -> None:
        assert parse_html(escape_html(text)) == text


class TestFakeParsers:
    """The fake's parsers model the Bot API, so the round trips above mean something."""

    def test_markup_is_parsed_away(self) -> None:
        text = "*bold* _it_ __under__ ~strike~ ||spoiler|| `co\\`de` [link](https://e.com/\\)) \\."
        assert parse_markdown_v2(text) == "bold it under strike spoiler co`de link ."

    def test_unclosed_entity(self) -> None:
        with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
            parse_markdown_v2("*bold")

    def test_reserved_character_message(self) -> None:
        with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
            parse_markdown_v2("end.")

    def test_html_tags_and_entities(self) -> None:
        assert parse_html('<b>x</b> <a href="https://e.com">l</a> &lt;&#128512;&quot;') == 'x l <😀"'

    @pytest.mark.parametrize("text", ["<foo>x</foo>", "<b>x", "<b><i>x</b></i>", "a &nbsp; b"])
    def test_html_refusals(self, text: str) -> None:
        with pytest.raises(EntityParseError):
            parse_html(text)


def test_message_links() -> None:
    assert message_link({"id": -1001234567890, "username": "news"}, 7) == "https://t.me/news/7"
    assert message_link({"id": -1001234567890}, 7) == "https://t.me/c/1234567890/7"
    assert message_link({"id": -4001}, 7) is None
    assert message_link({"id": 555}, 7) is None


# --- against the fake ---------------------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[TelegramFake]:
    chats = [
        Chat(id=-1001234567890, username="tagcastnews", title="Tagcast News"),
        Chat(id=-1009876543210, title="Private Channel"),
        Chat(id=-1005555555555, title="Not Joined", member=False),
    ]
    with TelegramFake(token=TOKEN, chats=chats).running() as running:
        assert isinstance(running, TelegramFake)
        yield running


def settings(fake: TelegramFake, **overrides: Any) -> ChannelSettings:
    values: dict[str, Any] = {
        "network": "telegram",
        "base_url": fake.base_url,
        "bot_token": SecretStr(TOKEN),
        "chat_id": "@tagcastnews",
        **overrides,
    }
    return ChannelSettings(**values)


def adapter(fake: TelegramFake, http: httpx.AsyncClient, **overrides: Any) -> TelegramAdapter:
    return TelegramAdapter("news", settings(fake, **overrides), http=http, root=Path("."))


pytestmark = pytest.mark.anyio


async def test_what_the_bot_api_receives(fake: TelegramFake) -> None:
    post = replace(outgoing(THREAD), article=Article("posts/a.md", "T", "b", url="https://e.com/a"))
    async with client() as http:
        receipt = await adapter(fake, http, parse_mode="MarkdownV2", options={"silent": True}).publish(
            post, DurableJournal().journal()
        )
    first, second, third = (m.fields for m in fake.messages)
    assert first["chat_id"] == "@tagcastnews"
    assert first["parse_mode"] == "MarkdownV2"
    assert first["text"] == escape_markdown_v2(THREAD[0])
    assert first["link_preview_options"] == {"is_disabled": False, "url": "https://e.com/a"}
    assert first["disable_notification"] is True
    assert "reply_parameters" not in first
    assert second["link_preview_options"] == {"is_disabled": True}
    assert second["reply_parameters"] == {"message_id": fake.messages[0].message_id}
    assert third["reply_parameters"] == {"message_id": fake.messages[1].message_id}
    assert [m.text for m in fake.messages] == list(THREAD)
    ids = [str(m.message_id) for m in fake.messages]
    assert receipt.remote_ids == tuple(ids)
    assert receipt.url == f"https://t.me/tagcastnews/{ids[0]}"
    assert receipt.extra["urls"] == [f"https://t.me/tagcastnews/{i}" for i in ids]


async def test_link_preview_can_be_turned_off(fake: TelegramFake) -> None:
    async with client() as http:
        await adapter(fake, http, options={"link_preview": False}).publish(
            outgoing(["https://e.com/a"]), DurableJournal().journal()
        )
    assert fake.messages[0].link_preview_options == {"is_disabled": True}
    assert "disable_notification" not in fake.messages[0].fields


async def test_chat_not_found_names_the_key(fake: TelegramFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="check chat_id") as caught:
            await adapter(fake, http, chat_id="@nosuchchat").publish(
                outgoing(["x"]), DurableJournal().journal()
            )
    assert not isinstance(caught.value, AuthError)
    assert "Bad Request: chat not found" in caught.value.reason


async def test_plain_text_sends_no_parse_mode_and_no_escapes(fake: TelegramFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing(["a.b (c) #d"]), DurableJournal().journal())
    [message] = fake.messages
    assert message.raw == "a.b (c) #d"
    assert "parse_mode" not in message.fields


@pytest.mark.parametrize("mode", ["html", "markdownv2", "MARKDOWNV2"])
async def test_parse_mode_is_case_insensitive(fake: TelegramFake, mode: str) -> None:
    async with client() as http:
        await adapter(fake, http, parse_mode=mode).publish(
            outgoing(["<a> & b.c!"]), DurableJournal().journal()
        )
    assert fake.messages[0].text == "<a> & b.c!"
    assert fake.messages[0].parse_mode in ("HTML", "MarkdownV2")


async def test_unsupported_parse_mode_fails_before_sending(fake: TelegramFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="parse_mode = 'Markdown' is not supported"):
            await adapter(fake, http, parse_mode="Markdown").publish(
                outgoing(["x"]), DurableJournal().journal()
            )
    assert fake.requests == []


async def test_private_channel_link(fake: TelegramFake) -> None:
    async with client() as http:
        receipt = await adapter(fake, http, chat_id="-1009876543210").publish(
            outgoing(["x"]), DurableJournal().journal()
        )
    assert receipt.url == f"https://t.me/c/9876543210/{fake.messages[0].message_id}"
    assert fake.messages[0].fields["chat_id"] == -1009876543210


class TestLengthAfterParsing:
    async def test_escapes_do_not_count(self, fake: TelegramFake) -> None:
        text = "." * 4096
        async with client() as http:
            await adapter(fake, http, parse_mode="MarkdownV2").publish(
                outgoing([text]), DurableJournal().journal()
            )
        assert len(fake.messages[0].raw) == 8192
        assert fake.messages[0].text == text

    async def test_utf16_units_count(self, fake: TelegramFake) -> None:
        async with client() as http:
            await adapter(fake, http).publish(outgoing(["😀" * 2048]), DurableJournal().journal())
            with pytest.raises(PermanentDeliveryError, match="4098 UTF-16 code units, limit 4096"):
                await adapter(fake, http).publish(outgoing(["😀" * 2049]), DurableJournal().journal())
        assert len(fake.messages) == 1

    async def test_the_server_refuses_too_long_with_its_description(self, fake: TelegramFake) -> None:
        async with client() as http:
            with pytest.raises(PermanentDeliveryError, match="Bad Request: message is too long") as caught:
                await adapter(fake, http, limit=5000).publish(
                    outgoing(["a" * 4097]), DurableJournal().journal()
                )
        assert not isinstance(caught.value, AuthError)
        assert fake.messages == []


class TestErrors:
    async def test_cant_parse_entities_is_permanent_with_the_description(self, fake: TelegramFake) -> None:
        fake.refuse(400, "Bad Request: can't parse entities: Character '.' is reserved")
        async with client() as http:
            with pytest.raises(
                PermanentDeliveryError, match=r"can't parse entities: Character '\.' is reserved"
            ):
                await adapter(fake, http, parse_mode="MarkdownV2").publish(
                    outgoing(["x"]), DurableJournal().journal()
                )

    async def test_migrated_group_says_which_chat_id_to_set(self, fake: TelegramFake) -> None:
        fake.migrated[-4001] = -1004001
        async with client() as http:
            with pytest.raises(PermanentDeliveryError) as caught:
                await adapter(fake, http, chat_id="-4001").publish(
                    outgoing(["x"]), DurableJournal().journal()
                )
        assert not isinstance(caught.value, AuthError)
        assert 'set chat_id = "-1004001"' in caught.value.reason
        assert "TAGCAST_CHANNELS__NEWS__CHAT_ID" in caught.value.reason

    @pytest.mark.parametrize("token", ["123456:wrong-secret", "not-a-token"], ids=["401", "404"])
    async def test_rejected_token(self, fake: TelegramFake, token: str) -> None:
        async with client() as http:
            with pytest.raises(AuthError, match="bot token rejected"):
                await adapter(fake, http, bot_token=SecretStr(token)).publish(
                    outgoing(["x"]), DurableJournal().journal()
                )
            with pytest.raises(AuthError, match="bot token rejected"):
                await adapter(fake, http, bot_token=SecretStr(token)).check()

    async def test_bot_not_a_member(self, fake: TelegramFake) -> None:
        async with client() as http:
            with pytest.raises(AuthError, match="add the bot to the chat"):
                await adapter(fake, http, chat_id="-1005555555555").publish(
                    outgoing(["x"]), DurableJournal().journal()
                )

    async def test_flood_limit_uses_parameters_retry_after(self, fake: TelegramFake) -> None:
        fake.faults.rate_limited(wait=3, path="sendMessage")
        async with client() as http:
            with pytest.raises(TransientDeliveryError) as caught:
                await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
        assert caught.value.retry_after == 3

    async def test_missing_configuration(self, fake: TelegramFake) -> None:
        async with client() as http:
            with pytest.raises(AuthError, match="TAGCAST_CHANNELS__NEWS__BOT_TOKEN"):
                await adapter(fake, http, bot_token=None).publish(outgoing(["x"]), DurableJournal().journal())
            with pytest.raises(AuthError, match="no chat_id"):
                await adapter(fake, http, chat_id=None).publish(outgoing(["x"]), DurableJournal().journal())
        assert fake.requests == []


class TestJournal:
    async def test_progress_is_saved_part_by_part(self, fake: TelegramFake) -> None:
        durable = DurableJournal()
        async with client() as http:
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        assert durable.saved["telegram"]["sent"] == [m.message_id for m in fake.messages]
        assert durable.saved["telegram"]["in_flight"] is None
        assert durable.saves == 6

    async def test_lost_answer_mid_thread_is_never_resent(self, fake: TelegramFake) -> None:
        fake.faults.commit_then_drop(path="sendMessage", after=1)
        durable = DurableJournal()
        async with client() as http:
            with pytest.raises(UnknownOutcome):
                await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
            assert durable.saved["telegram"] | {"chat": None} == {
                "version": 1,
                "sent": [fake.messages[0].message_id],
                "in_flight": 1,
                "chat": None,
            }
            with pytest.raises(UnknownOutcome, match=r"part 2 of 3 .*1 part\(s\) before it are out"):
                await adapter(fake, http).reconcile(outgoing(THREAD), durable.journal())
            with pytest.raises(UnknownOutcome):
                await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        assert len(fake.requests_to("POST", "sendMessage")) == 2

    async def test_reconcile_without_a_part_in_flight_lets_publish_resume(self, fake: TelegramFake) -> None:
        fake.faults.server_error(status=500, path="sendMessage", after=1)
        durable = DurableJournal()
        async with client() as http:
            with pytest.raises(TransientDeliveryError):
                await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
            journal = durable.journal()
            assert await adapter(fake, http).reconcile(outgoing(THREAD), journal) is None
            receipt = await adapter(fake, http).publish(outgoing(THREAD), journal)
        assert [m.text for m in fake.messages] == list(THREAD)
        assert len(receipt.remote_ids) == 3

    async def test_unknown_journal_version_is_refused(self, fake: TelegramFake) -> None:
        journal = Journal(state={"telegram": {"version": 99}})
        async with client() as http:
            with pytest.raises(PermanentDeliveryError, match="journal version 99"):
                await adapter(fake, http).publish(outgoing(["x"]), journal)
        assert fake.requests == []


class TestCheck:
    async def test_names_bot_and_chat(self, fake: TelegramFake) -> None:
        async with client() as http:
            identity = await adapter(fake, http).check()
        assert identity.account == "@tagcast_bot -> Tagcast News"
        assert identity.url == "https://t.me/tagcastnews"
        assert fake.messages == []

    @pytest.mark.parametrize("chat_id", ["@nosuchchat", "-1005555555555"])
    async def test_a_chat_the_bot_cannot_use_is_an_auth_error(self, fake: TelegramFake, chat_id: str) -> None:
        async with client() as http:
            with pytest.raises(AuthError):
                await adapter(fake, http, chat_id=chat_id).check()


# --- the token never shows ----------------------------------------------------------------------------------


def assert_no_token(error: DeliveryError, token: str = TOKEN) -> None:
    secret = token.split(":", 1)[-1]
    for text in shown(error):
        assert token not in text
        assert secret not in text


FAILURES: dict[str, tuple[dict[str, Any], str | None, type[DeliveryError]]] = {
    "unauthorized": ({"bot_token": SecretStr("123456:AAHwrong-secret-token")}, None, AuthError),
    "malformed-token": ({"bot_token": SecretStr("AAHwrong-secret-token")}, None, AuthError),
    "not-a-member": ({"chat_id": "-1005555555555"}, None, AuthError),
    "chat-not-found": ({"chat_id": "@nosuchchat"}, None, PermanentDeliveryError),
    "migrated": ({"chat_id": "-4001"}, "migrate", PermanentDeliveryError),
    "too-long": ({"limit": 5000}, "too-long", PermanentDeliveryError),
    "over-limit-locally": ({}, "over-limit", PermanentDeliveryError),
    "cant-parse": ({"parse_mode": "MarkdownV2"}, "cant-parse", PermanentDeliveryError),
    "404-echoing-the-path": ({}, "echo-404", AuthError),
    "401-echoing-the-token": ({}, "echo-401", AuthError),
    "rate-limited": ({}, "rate_limit", TransientDeliveryError),
    "server-error-json": ({}, "error-500", TransientDeliveryError),
    "server-error-html": ({}, "error-502", TransientDeliveryError),
    "timeout": ({}, "timeout", UnknownOutcome),
    "dropped": ({}, "drop", UnknownOutcome),
    "committed-then-dropped": ({}, "commit_then_drop", UnknownOutcome),
    "connection-refused": ({"base_url": "closed"}, None, TransientDeliveryError),
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_the_token_never_appears_in_an_error(fake: TelegramFake, kind: str) -> None:
    overrides, fault, expected = FAILURES[kind]
    if overrides.get("base_url") == "closed":
        overrides = {**overrides, "base_url": closed_url()}
    fake.migrated[-4001] = -1004001
    text = "a" * 4097 if fault in ("too-long", "over-limit") else "x"
    if fault == "cant-parse":
        fake.refuse(400, "Bad Request: can't parse entities: Character '.' is reserved")
    elif fault == "echo-404":
        fake.refuse(404, f"Not Found: /bot{TOKEN}/sendMessage")
    elif fault == "echo-401":
        fake.refuse(401, f"Unauthorized: token {TOKEN} was revoked")
    elif fault == "rate_limit":
        fake.faults.rate_limited(wait=1, path="sendMessage")
    elif fault and fault.startswith("error-"):
        fake.faults.server_error(status=int(fault[6:]), path="sendMessage")
    elif fault == "timeout":
        fake.faults.timeout(path="sendMessage")
    elif fault == "drop":
        fake.faults.drop(path="sendMessage")
    elif fault == "commit_then_drop":
        fake.faults.commit_then_drop(path="sendMessage")
    token = (overrides.get("bot_token") or SecretStr(TOKEN)).get_secret_value()
    async with client() as http:
        with pytest.raises(expected) as caught:
            await adapter(fake, http, **overrides).publish(outgoing([text]), DurableJournal().journal())
        assert_no_token(caught.value, token)
        if fault is None or fault == "migrate":
            with pytest.raises(DeliveryError) as checked:
                await adapter(fake, http, **overrides).check()
            assert_no_token(checked.value, token)
