"""Mastodon specifics beyond the contract: what the server receives, idempotency keys, reconcile after the
key's hour, the instance limit, and the fake's own rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fakes.mastodon import MastodonFake, render_html
from pydantic import SecretStr

from scheduler.adapters.base import Journal
from scheduler.adapters.mastodon import MastodonAdapter, status_text
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError

from .contract import THREAD, DurableJournal, client, fresh, outgoing

pytestmark = pytest.mark.anyio
TOKEN = "masto-secret-token-123"
TWO_HOURS = 7200.0


@pytest.fixture
def fake() -> Iterator[MastodonFake]:
    with MastodonFake(token=TOKEN).running() as running:
        yield running


def settings(fake: MastodonFake, **extra: object) -> ChannelSettings:
    values: dict[str, object] = {"network": "mastodon", "base_url": fake.base_url, "token": SecretStr(TOKEN)}
    return ChannelSettings(**{**values, **extra})


def adapter(http: httpx.AsyncClient, config: ChannelSettings, tmp_path: Path) -> MastodonAdapter:
    return MastodonAdapter("masto", config, http=http, root=tmp_path)


# --- the fake's rules, with expectations written down independently ---------------------------------------


def post_raw(fake: MastodonFake, text: str, spoiler: str = "") -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/api/v1/statuses",
        data={"status": text, "spoiler_text": spoiler},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )


def test_fake_counts_like_mastodon(fake: MastodonFake) -> None:
    assert post_raw(fake, "a" * 500).status_code == 200
    refused = post_raw(fake, "b" * 501)
    assert refused.status_code == 422
    assert refused.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    url = "https://example.com/" + "x" * 200
    assert post_raw(fake, "c" * 476 + " " + url).status_code == 200
    assert post_raw(fake, "d" * 477 + " " + url).status_code == 422
    assert post_raw(fake, "👨‍👩‍👧‍👦" * 500).status_code == 200
    assert post_raw(fake, "e" * 490, spoiler="f" * 10).status_code == 200
    assert post_raw(fake, "g" * 490, spoiler="h" * 11).status_code == 422
    assert len(fake.statuses) == 4


def test_fake_rejects_a_bad_token(fake: MastodonFake) -> None:
    answer = httpx.get(
        f"{fake.base_url}/api/v1/accounts/verify_credentials", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json() == {"error": "The access token is invalid"}


def test_fake_sends_iso_rate_limit_headers(fake: MastodonFake) -> None:
    answer = post_raw(fake, "hello")
    assert answer.headers["X-RateLimit-Limit"] == "300"
    assert answer.headers["X-RateLimit-Remaining"] == "299"
    assert answer.headers["X-RateLimit-Reset"].endswith("Z")


def test_status_text_of_rendered_html() -> None:
    text = "Hello #TagCast\nline two https://example.com/a/very/long/path/to/be/shortened\n\nnew para <&>"
    assert status_text(render_html(text, "https://m.example")) == text
    assert status_text("<p>a<br>b</p><p>c &amp; d</p>") == "a\nb\n\nc & d"


# --- publishing --------------------------------------------------------------------------------------


async def test_what_the_server_receives(fake: MastodonFake, tmp_path: Path) -> None:
    config = settings(fake, visibility="unlisted", language="de", spoiler_text="Geschichte")
    post = outgoing(THREAD, delivery_id="d-42")
    async with client() as http:
        receipt = await adapter(http, config, tmp_path).publish(post, fresh())
    posts = fake.requests_to("POST", "/api/v1/statuses$")
    assert [r.headers["idempotency-key"] for r in posts] == [
        "tagcast-d-42-1",
        "tagcast-d-42-2",
        "tagcast-d-42-3",
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in posts)
    bodies = [r.fields() for r in posts]
    assert [b["status"] for b in bodies] == list(THREAD)
    assert {(b["visibility"], b["language"], b["spoiler_text"]) for b in bodies} == {
        ("unlisted", "de", "Geschichte")
    }
    assert "in_reply_to_id" not in bodies[0]
    assert [b["in_reply_to_id"] for b in bodies[1:]] == [fake.statuses[0].id, fake.statuses[1].id]
    assert receipt.url == f"{fake.base_url}/@alice/{fake.statuses[0].id}"
    assert receipt.extra["urls"][2] == f"{fake.base_url}/@alice/{fake.statuses[2].id}"


async def test_the_same_delivery_twice_posts_once(fake: MastodonFake, tmp_path: Path) -> None:
    async with client() as http:
        first = await adapter(http, settings(fake), tmp_path).publish(outgoing(THREAD), fresh())
        again = await adapter(http, settings(fake), tmp_path).publish(outgoing(THREAD), fresh())
    assert first.remote_ids == again.remote_ids
    assert len(fake.statuses) == 3
    assert len(fake.requests_to("POST", "/api/v1/statuses$")) == 6


async def test_progress_is_saved_before_each_part(fake: MastodonFake, tmp_path: Path) -> None:
    seen: list[dict[str, object]] = []

    async def saver(state: dict[str, object]) -> None:
        seen.append({"parts": len(state["parts"]), "inflight": state["inflight"], "sent": len(fake.statuses)})

    async with client() as http:
        await adapter(http, settings(fake), tmp_path).publish(outgoing(THREAD), Journal({}, saver))
    inflight = [s for s in seen if s["inflight"] is not None]
    assert [s["sent"] for s in inflight] == [0, 1, 2], "each part is marked in flight before it is sent"
    assert seen[-1] == {"parts": 3, "inflight": None, "sent": 3}


async def test_quota_used_up_on_success_asks_for_a_pause(fake: MastodonFake, tmp_path: Path) -> None:
    fake.remaining = 1
    async with client() as http:
        receipt = await adapter(http, settings(fake), tmp_path).publish(outgoing(["x"]), fresh())
    assert (receipt.pause_for or 0) > 0


async def test_server_refusal_keeps_its_words(fake: MastodonFake, tmp_path: Path) -> None:
    config = settings(fake, limit=1000)
    async with client() as http:
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter(http, config, tmp_path).publish(outgoing(["z" * 600]), fresh())
    assert not isinstance(caught.value, AuthError)
    assert "Validation failed: Text character limit of 500 exceeded" in caught.value.reason
    assert "(422)" in caught.value.reason


async def test_a_bad_token_never_shows_in_the_error(fake: MastodonFake, tmp_path: Path) -> None:
    config = settings(fake, token=SecretStr("leaked-if-you-see-me"))
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(http, config, tmp_path).publish(outgoing(["x"]), fresh())
    assert "The access token is invalid" in caught.value.reason
    assert "leaked-if-you-see-me" not in caught.value.reason


# --- after the idempotency key's hour ------------------------------------------------------------------


def age(durable: DurableJournal, fake: MastodonFake) -> None:
    """Two hours pass: the journal's in-flight mark is old and the server forgot its keys."""
    durable.saved["inflight"]["since"] -= TWO_HOURS
    fake.clock_offset = TWO_HOURS


async def test_reconcile_after_the_hour_finds_the_post_without_resending(
    fake: MastodonFake, tmp_path: Path
) -> None:
    fake.faults.commit_then_drop(path="/api/v1/statuses$", after=1)
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, settings(fake), tmp_path).publish(outgoing(THREAD), durable.journal())
        age(durable, fake)
        journal = durable.journal()
        assert await adapter(http, settings(fake), tmp_path).reconcile(outgoing(THREAD), journal) is None
        assert len(fake.requests_to("POST", "/api/v1/statuses$")) == 2, "the lost part was not resent"
        assert journal.state["parts"][1]["id"] == fake.statuses[1].id
        receipt = await adapter(http, settings(fake), tmp_path).publish(outgoing(THREAD), journal)
    assert [s.text for s in fake.statuses] == list(THREAD)
    assert receipt.remote_ids == tuple(s.id for s in fake.statuses)
    assert [s.in_reply_to_id for s in fake.statuses] == [None, fake.statuses[0].id, fake.statuses[1].id]


async def test_reconcile_after_the_hour_when_the_post_is_not_out(fake: MastodonFake, tmp_path: Path) -> None:
    fake.faults.drop(path="/api/v1/statuses$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, settings(fake), tmp_path).publish(outgoing(["lonely"]), durable.journal())
        age(durable, fake)
        journal = durable.journal()
        assert await adapter(http, settings(fake), tmp_path).reconcile(outgoing(["lonely"]), journal) is None
        await adapter(http, settings(fake), tmp_path).publish(outgoing(["lonely"]), journal)
    assert [s.text for s in fake.statuses] == ["lonely"]


async def test_a_retry_after_the_hour_looks_first(fake: MastodonFake, tmp_path: Path) -> None:
    fake.faults.commit_then_drop(path="/api/v1/statuses$")
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(http, settings(fake), tmp_path).publish(outgoing([THREAD[0]]), durable.journal())
        age(durable, fake)
        receipt = await adapter(http, settings(fake), tmp_path).publish(
            outgoing([THREAD[0]]), durable.journal()
        )
    assert len(fake.statuses) == 1
    assert receipt.remote_ids == (fake.statuses[0].id,)


# --- check and the instance limit -----------------------------------------------------------------------


async def test_check_names_the_account_and_the_limit(fake: MastodonFake, tmp_path: Path) -> None:
    async with client() as http:
        identity = await adapter(http, settings(fake), tmp_path).check()
    assert identity.account == "@alice@127.0.0.1"
    assert identity.url == f"{fake.base_url}/@alice"
    assert identity.detail is not None
    assert "500 characters" in identity.detail


async def test_fetch_limit_falls_back_to_v1(tmp_path: Path) -> None:
    with MastodonFake(token=TOKEN, max_characters=5000, v1_only=True).running() as old:
        async with client() as http:
            assert await adapter(http, settings(old), tmp_path).fetch_limit() == 5000
    with MastodonFake(token=TOKEN, max_characters=1000).running() as new:
        async with client() as http:
            assert await adapter(http, settings(new), tmp_path).fetch_limit() == 1000


async def test_length_rules_use_the_channel_limit(fake: MastodonFake) -> None:
    assert MastodonAdapter.length_rules(settings(fake, limit=1000)).limit == 1000
    assert MastodonAdapter.length_rules(settings(fake)).limit == 500


@pytest.mark.parametrize(("missing", "words"), [("base_url", "base_url"), ("token", "token")])
async def test_missing_settings_are_named(
    fake: MastodonFake, tmp_path: Path, missing: str, words: str
) -> None:
    config = settings(fake, **{missing: None})
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter(http, config, tmp_path).check()
        with pytest.raises(AuthError):
            await adapter(http, config, tmp_path).publish(outgoing(["x"]), fresh())
    assert f"channels.masto.{words}" in caught.value.reason
    assert fake.requests == []
