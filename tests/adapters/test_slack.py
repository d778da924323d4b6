"""Slack specifics: mrkdwn escaping, no ids, no threads, no checks without posting, error codes, redaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.server import closed_url
from fakes.slack import SlackFake, render_mrkdwn
from hypothesis import given
from hypothesis import strategies as st
from media_files import image_media
from pydantic import SecretStr

from scheduler.adapters.slack import SECTION_LIMIT, SlackAdapter, escape_mrkdwn
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)

from .contract import SINGLE, THREAD, DurableJournal, client, network_fault, outgoing, shown

SECRET = "xq7SecretPartOfTheHookURL"

pytestmark = pytest.mark.anyio


class TestEscapeMrkdwn:
    @pytest.mark.parametrize(("char", "entity"), [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")])
    def test_each_control_character(self, char: str, entity: str) -> None:
        assert escape_mrkdwn(f"a{char}b") == f"a{entity}b"

    def test_nothing_else_changes(self) -> None:
        text = "*bold* _it_ ~s~ `c` #tag @here https://e.com/?a=1 é😀\"'"
        assert escape_mrkdwn(text) == text

    def test_markup_and_pings_are_neutralised(self) -> None:
        escaped = escape_mrkdwn("<!channel> see <https://evil.example|docs> & more")
        assert escaped == "&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; more"
        assert render_mrkdwn(escaped) == ("<!channel> see <https://evil.example|docs> & more", [])

    @given(st.text())
    def test_slack_shows_exactly_the_text(self, text: str) -> None:
        assert render_mrkdwn(escape_mrkdwn(text)) == (text, [])


@pytest.fixture
def fake() -> Iterator[SlackFake]:
    with SlackFake(secret=SECRET).running() as running:
        assert isinstance(running, SlackFake)
        yield running


def adapter(
    fake: SlackFake, http: httpx.AsyncClient, url: str | None = None, **overrides: Any
) -> SlackAdapter:
    webhook = fake.webhook_url() if url is None else url
    values: dict[str, Any] = {
        "network": "slack",
        "webhook_url": SecretStr(webhook) if webhook else None,
        **overrides,
    }
    return SlackAdapter("team", ChannelSettings(**values), http=http, root=Path("."))


async def test_single_post_has_no_remote_id(fake: SlackFake) -> None:
    text = "Khalkhin Gol <1939> & after #history"
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing([text]), DurableJournal().journal())
    [request] = fake.requests
    assert request.json() == {"text": "Khalkhin Gol &lt;1939&gt; &amp; after #history"}
    assert [m.shown for m in fake.messages] == [text]
    assert receipt.remote_ids == ()
    assert receipt.url is None
    assert receipt.extra == {"messages": 1}


async def test_several_parts_are_consecutive_messages(fake: SlackFake) -> None:
    assert SlackAdapter.supports_threads is False
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing(THREAD), DurableJournal().journal())
    assert [m.shown for m in fake.messages] == list(THREAD)
    assert all("thread_ts" not in m.body for m in fake.messages)
    assert receipt.extra == {"messages": 3}


async def test_server_error_then_success(fake: SlackFake) -> None:
    fake.faults.server_error(status=503)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
        await adapter(fake, http).publish(outgoing([SINGLE]), durable.journal())
    assert [m.shown for m in fake.messages] == [SINGLE]


async def test_rate_limit_reads_retry_after(fake: SlackFake) -> None:
    fake.faults.rate_limited(wait=2)
    async with client() as http:
        with pytest.raises(TransientDeliveryError) as caught:
            await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    assert caught.value.retry_after == 2


@pytest.mark.parametrize(
    ("setup", "match"),
    [
        ("wrong-secret", "secret was rejected"),
        ("wrong-team", "does not exist"),
        ("archived", "is archived"),
    ],
)
async def test_codes_that_need_a_new_webhook_are_auth_errors(fake: SlackFake, setup: str, match: str) -> None:
    url = fake.webhook_url()
    if setup == "wrong-secret":
        url = fake.webhook_url("wrong" + SECRET)
    elif setup == "wrong-team":
        url = url.replace(fake.team, "T9999")
    else:
        fake.archived = True
    async with client() as http:
        with pytest.raises(AuthError, match=match):
            await adapter(fake, http, url).publish(outgoing(["x"]), DurableJournal().journal())
    assert fake.messages == []


async def test_invalid_payload_is_permanent_with_the_code(fake: SlackFake) -> None:
    fake.refuse(400, "invalid_payload")
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="invalid_payload") as caught:
            await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    assert not isinstance(caught.value, AuthError)


async def test_empty_text_is_refused_before_sending(fake: SlackFake) -> None:
    async with client() as http:
        with pytest.raises(PermanentDeliveryError, match="empty text"):
            await adapter(fake, http).publish(outgoing([" "]), DurableJournal().journal())
    assert fake.requests == []


async def test_lost_answer_is_unknown_and_never_resent(fake: SlackFake) -> None:
    fake.faults.commit_then_drop(after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(UnknownOutcome):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        assert durable.saved["slack"] == {"version": 1, "sent": 1, "in_flight": 1}
        with pytest.raises(UnknownOutcome, match="part 2 of 3"):
            await adapter(fake, http).reconcile(outgoing(THREAD), durable.journal())
    assert len(fake.requests) == 2


class TestCheck:
    async def test_never_posts_and_says_it_cannot_verify(self, fake: SlackFake) -> None:
        async with client() as http:
            identity = await adapter(fake, http).check()
        assert fake.requests == []
        assert identity.detail is not None
        assert "cannot be checked without posting" in identity.detail
        assert SECRET not in identity.account

    @pytest.mark.parametrize(
        "url", ["", "https://hooks.slack.com/services/T1/" + SECRET, "hooks.slack.com/services/T/B/" + SECRET]
    )
    async def test_missing_or_malformed_url_is_an_auth_error(self, fake: SlackFake, url: str) -> None:
        async with client() as http:
            with pytest.raises(AuthError, match="webhook_url") as caught:
                await adapter(fake, http, url).check()
        assert SECRET not in str(caught.value)


# --- the webhook secret never shows -------------------------------------------------------------------------


FAILURES: dict[str, type[DeliveryError]] = {
    "invalid-token": AuthError,
    "no-service": AuthError,
    "archived": AuthError,
    "invalid-payload": PermanentDeliveryError,
    "too-long-locally": PermanentDeliveryError,
    "rate-limited": TransientDeliveryError,
    "server-error": TransientDeliveryError,
    "timeout": UnknownOutcome,
    "dropped": UnknownOutcome,
    "committed-then-dropped": UnknownOutcome,
    "connection-refused": TransientDeliveryError,
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_the_secret_never_appears_in_an_error(fake: SlackFake, kind: str) -> None:
    url, text = fake.webhook_url(), "hello"
    network_fault(fake, kind)
    if kind == "invalid-token":
        url = fake.webhook_url("other" + SECRET)
    elif kind == "no-service":
        url = url.replace(fake.bot, "B9999")
    elif kind == "archived":
        fake.archived = True
    elif kind == "invalid-payload":
        fake.refuse(400, "invalid_payload")
    elif kind == "too-long-locally":
        text = "a" * 40_001
    elif kind == "connection-refused":
        url = url.replace(fake.base_url, closed_url())
    secret = url.rsplit("/", 1)[1]
    async with client() as http:
        with pytest.raises(FAILURES[kind]) as caught:
            await adapter(fake, http, url).publish(outgoing([text]), DurableJournal().journal())
    error = caught.value
    for text in shown(error):
        assert secret not in text


# --- images ---------------------------------------------------------------------------------------------


async def test_public_images_are_image_blocks_and_a_local_one_is_left_out_with_a_warning(
    fake: SlackFake, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    local, public = image_media(tmp_path, 2, src="images/{n}.jpg")
    public = replace(public, src="https://images.example.com/bridge.jpg", alt="The old bridge at dusk")
    text = "<b>Bridges</b> & rivers"
    with caplog.at_level(logging.WARNING, logger="tagcast.adapters.media"):
        async with client() as http:
            await adapter(fake, http).publish(
                outgoing([text, "second"], media=(local, public)), DurableJournal().journal()
            )
    first, second = fake.messages
    assert first.body == {
        "text": "&lt;b&gt;Bridges&lt;/b&gt; &amp; rivers",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "&lt;b&gt;Bridges&lt;/b&gt; &amp; rivers"},
            },
            {
                "type": "image",
                "image_url": "https://images.example.com/bridge.jpg",
                "alt_text": "The old bridge at dusk",
            },
        ],
    }
    assert first.shown == text, "Slack shows the blocks, so the text is in a section"
    assert second.body == {"text": "second"}, "images go with the first part only"
    assert [r.getMessage() for r in caplog.records] == [
        "slack channel team: image images/1.jpg is left out: slack shows only images from a public https URL"
    ]


async def test_a_long_first_part_with_an_image_is_split_into_sections(
    fake: SlackFake, tmp_path: Path
) -> None:
    [image] = image_media(tmp_path, 1, src="https://images.example.com/{n}.jpg")
    text = " ".join(["word&word"] * 700)  # 6999 characters, 9799 once escaped
    async with client() as http:
        await adapter(fake, http).publish(outgoing([text], media=(image,)), DurableJournal().journal())
    [message] = fake.messages
    blocks = message.body["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(texts) == 4 and all(len(t) <= SECTION_LIMIT for t in texts)
    assert render_mrkdwn("".join(texts))[0] == text
    assert message.images == [("https://images.example.com/1.jpg", image.alt)]


async def test_the_fake_refuses_an_image_without_alt_text(fake: SlackFake) -> None:
    body = {"text": "x", "blocks": [{"type": "image", "image_url": "https://e.com/a.jpg", "alt_text": ""}]}
    async with client() as http:
        answer = await http.post(fake.webhook_url(), json=body)
    assert (answer.status_code, answer.text) == (400, "invalid_blocks")
    assert fake.messages == []
