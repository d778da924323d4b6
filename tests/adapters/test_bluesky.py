"""Bluesky specifics beyond the contract suite, against the fake PDS (``fakes.bluesky``).

Record keys, facets as the server stores them, threads, tokens, errors, exactly once.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.bluesky import BlueskyFake
from pydantic import SecretStr

from scheduler.adapters.base import Journal
from scheduler.adapters.bluesky import (
    S32_ALPHABET,
    BlueskyAdapter,
    format_created_at,
    languages,
    make_tid,
)
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError
from scheduler.facets import detect_facets

from .contract import CHANNEL, DurableJournal, client, outgoing

TID_REGEX = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
"""As docs/networks.md (Bluesky: never twice) gives it, from the reference syntax/src/tid.ts."""

PUT = r"/xrpc/com\.atproto\.repo\.putRecord$"


@pytest.fixture
def fake() -> Iterator[BlueskyFake]:
    with BlueskyFake(handle="alice.test", password="app-pass-1234").running() as running:
        assert isinstance(running, BlueskyFake)
        yield running


def settings_for(fake: BlueskyFake, **overrides: Any) -> ChannelSettings:
    values: dict[str, Any] = {
        "network": "bluesky",
        "base_url": fake.base_url,
        "handle": "alice.test",
        "password": SecretStr("app-pass-1234"),
        "language": "en",
        **overrides,
    }
    return ChannelSettings(**values)


def adapter_for(fake: BlueskyFake, http: httpx.AsyncClient, **overrides: Any) -> BlueskyAdapter:
    return BlueskyAdapter(CHANNEL, settings_for(fake, **overrides), http=http, root=Path.cwd())


def parts_state(journal: Journal | DurableJournal) -> list[dict[str, Any]]:
    state = journal.saved if isinstance(journal, DurableJournal) else journal.state
    parts: list[dict[str, Any]] = state["bluesky"]["parts"]
    return parts


# --- record keys ---------------------------------------------------------------------------------------


class TestTid:
    def test_format_matches_the_networks_regex(self) -> None:
        for _ in range(1000):
            assert TID_REGEX.match(make_tid())

    def test_strictly_increasing_within_a_process(self) -> None:
        tids = [make_tid() for _ in range(2000)]
        assert tids == sorted(tids)
        assert len(set(tids)) == len(tids)

    def test_encodes_microseconds_then_clock_id(self) -> None:
        micros = 1_700_000_000_123_456
        tid = make_tid(micros=micros, clock_id=31)
        assert TID_REGEX.match(tid)
        decoded = 0
        for char in tid[:11]:
            decoded = decoded * 32 + S32_ALPHABET.index(char)
        assert decoded == micros
        assert tid[11:] == "2z"

    def test_same_as_the_reference_implementation(self) -> None:
        """Values from ``TID.fromTime(micros, clockid)`` of @atproto/common-web (tests/pds/node_modules)."""
        assert make_tid(micros=1_700_000_000_000_000, clock_id=0) == "3ke6kg3wk2222"
        assert make_tid(micros=1_700_000_000_123_456, clock_id=31) == "3ke6kg42cm22z"

    def test_time_order_is_key_order(self) -> None:
        assert make_tid(micros=10**15, clock_id=1023) < make_tid(micros=10**15 + 1, clock_id=0)

    def test_out_of_range_is_refused(self) -> None:
        with pytest.raises(ValueError):
            make_tid(micros=2**53)
        with pytest.raises(ValueError):
            make_tid(clock_id=1024)


def test_created_at_is_iso_utc_with_milliseconds() -> None:
    moment = datetime.fromisoformat("2026-03-08T02:30:00.123456-05:00")
    assert format_created_at(moment) == "2026-03-08T07:30:00.123Z"


def test_langs_come_from_the_channel_language_at_most_three() -> None:
    assert languages("en") == ["en"]
    assert languages("en, de;fr it") == ["en", "de", "fr"]
    assert languages(None) == []
    assert languages("de de") == ["de"]


# --- what the server stores ----------------------------------------------------------------------------

pytestmark = pytest.mark.anyio

NON_LATIN = (
    "Халхин-Гол 1939 👨‍👩‍👧‍👦 битва #ХалхинГол и 🇲🇳 #歴史 https://example.com/ノモンハン?q=1 конец #WW2"
)


async def test_facet_offsets_are_utf8_bytes_of_the_tags_and_links(fake: BlueskyFake) -> None:
    async with client() as http:
        receipt = await adapter_for(fake, http).publish(outgoing([NON_LATIN]), Journal(state={}))
    [(uri, stored)] = fake.posts()
    assert receipt.remote_ids == (uri,)
    record = stored.value
    assert record["text"] == NON_LATIN
    assert record["facets"] == detect_facets(NON_LATIN)
    raw = NON_LATIN.encode("utf-8")
    seen: dict[str, str] = {}
    for facet in record["facets"]:
        index, [feature] = facet["index"], facet["features"]
        covered = raw[index["byteStart"] : index["byteEnd"]].decode("utf-8")
        if feature["$type"] == "app.bsky.richtext.facet#tag":
            assert covered == "#" + feature["tag"]
        else:
            assert feature["$type"] == "app.bsky.richtext.facet#link"
            assert feature["uri"] == covered
        seen[covered] = feature["$type"]
    assert {"#ХалхинГол", "#歴史", "#WW2", "https://example.com/ノモンハン?q=1"} <= set(seen)


async def test_record_shape_and_public_url(fake: BlueskyFake) -> None:
    async with client() as http:
        receipt = await adapter_for(fake, http, language="en, mn").publish(
            outgoing(["Plain words only"]), Journal(state={})
        )
    [(uri, stored)] = fake.posts()
    rkey = uri.rsplit("/", 1)[1]
    assert TID_REGEX.match(rkey)
    assert set(stored.value) == {"$type", "text", "createdAt", "langs"}
    assert stored.value["$type"] == "app.bsky.feed.post"
    assert stored.value["langs"] == ["en", "mn"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stored.value["createdAt"])
    assert receipt.url == f"https://bsky.app/profile/alice.test/post/{rkey}"
    assert uri == f"at://{fake.account.did}/app.bsky.feed.post/{rkey}"


async def test_thread_replies_carry_root_and_parent_strong_refs(fake: BlueskyFake) -> None:
    parts = ("1/3 Opening #KhalkhinGol", "2/3 Middle 🐎", "3/3 End https://example.com")
    async with client() as http:
        receipt = await adapter_for(fake, http).publish(outgoing(parts), Journal(state={}))
    posts = fake.posts()
    assert [stored.value["text"] for _, stored in posts] == list(parts)
    refs = [{"uri": uri, "cid": stored.cid} for uri, stored in posts]
    assert "reply" not in posts[0][1].value
    assert posts[1][1].value["reply"] == {"root": refs[0], "parent": refs[0]}
    assert posts[2][1].value["reply"] == {"root": refs[0], "parent": refs[1]}
    assert receipt.remote_ids == tuple(r["uri"] for r in refs)
    assert receipt.extra["cids"] == [r["cid"] for r in refs]


async def test_the_journal_holds_each_record_before_it_is_sent(fake: BlueskyFake) -> None:
    snapshots: list[tuple[int, dict[str, Any]]] = []

    async def save(state: dict[str, Any]) -> None:
        snapshots.append((len(fake.requests_to("POST", PUT)), copy.deepcopy(state)))

    parts = ("one #a1", "two", "three")
    async with client() as http:
        await adapter_for(fake, http).publish(outgoing(parts), Journal(state={}, saver=save))
    first_puts, first = snapshots[0]
    assert first_puts == 0
    assert [TID_REGEX.match(p["rkey"]) is not None for p in first["bluesky"]["parts"]] == [True] * 3
    stored = [stored.value for _, stored in fake.posts()]
    for number, record in enumerate(stored):
        puts_when_saved = next(
            puts for puts, s in snapshots if s["bluesky"]["parts"][number]["record"] == record
        )
        assert puts_when_saved == number, f"part {number + 1} was sent before its record was saved"


# --- tokens and errors ---------------------------------------------------------------------------------


async def test_expired_access_token_is_refreshed_and_the_call_retried_once(fake: BlueskyFake) -> None:
    fake.token_uses = 1
    async with client() as http:
        receipt = await adapter_for(fake, http).publish(outgoing(("a #one", "b", "c")), Journal(state={}))
    assert len(fake.posts()) == 3
    assert len(receipt.remote_ids) == 3
    assert fake.sessions_created == 1
    assert fake.refreshes >= 2
    expired = [r for r in fake.requests if r.path.endswith("putRecord")]
    assert len(expired) == 3 + 2, "each of the later parts was refused once, then sent once"
    assert fake.edits == []


async def test_spent_refresh_token_means_logging_in_again(fake: BlueskyFake) -> None:
    async with client() as http:
        adapter = adapter_for(fake, http)
        await adapter.check()
        fake.expire_tokens()
        fake.revoke_refresh_tokens()
        await adapter.publish(outgoing(["after a long pause"]), Journal(state={}))
    assert fake.sessions_created == 2
    assert len(fake.posts()) == 1


async def test_concurrent_sends_survive_one_expiry(fake: BlueskyFake) -> None:
    async with client() as http:
        adapter = adapter_for(fake, http)
        await adapter.check()
        fake.expire_tokens()
        posts = [outgoing([f"post {n}"], delivery_id=f"d-{n}") for n in range(4)]
        receipts = await asyncio.gather(*(adapter.publish(post, Journal(state={})) for post in posts))
    assert sorted(stored.value["text"] for _, stored in fake.posts()) == [f"post {n}" for n in range(4)]
    assert len({r.remote_ids for r in receipts}) == 4
    assert fake.edits == []


async def test_invalid_request_is_permanent_with_the_servers_words(fake: BlueskyFake) -> None:
    async with client() as http:
        adapter = adapter_for(fake, http)
        record = adapter.build_record("ü" * 301, format_created_at(datetime.now().astimezone()))
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter.put_record(make_tid(), record)
    assert not isinstance(caught.value, AuthError)
    assert "grapheme too big (maximum 300, got 301)" in caught.value.reason
    assert fake.posts() == []


async def test_too_many_bytes_is_refused_before_any_request(fake: BlueskyFake) -> None:
    family = "👨‍👩‍👧‍👦"
    assert len(family.encode()) == 25
    async with client() as http:
        adapter = adapter_for(fake, http)
        with pytest.raises(PermanentDeliveryError) as caught:
            await adapter.publish(outgoing(["ok", family * 121]), Journal(state={}))
        assert fake.requests == []
        assert "part 2" in caught.value.reason
        await adapter.publish(outgoing([family * 120]), Journal(state={}))
    assert len(fake.posts()) == 1


async def test_bad_app_password_is_an_auth_error_naming_the_channel(fake: BlueskyFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await adapter_for(fake, http, password=SecretStr("nope")).check()
    assert CHANNEL in caught.value.reason
    assert "nope" not in caught.value.reason


async def test_missing_password_is_an_auth_error_before_any_request(fake: BlueskyFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError, match="password"):
            await adapter_for(fake, http, password=None).publish(outgoing(["x"]), Journal(state={}))
    assert fake.requests == []


async def test_check_names_handle_and_did(fake: BlueskyFake) -> None:
    async with client() as http:
        identity = await adapter_for(fake, http).check()
    assert identity.account == "@alice.test"
    assert identity.detail == fake.account.did
    assert identity.url == "https://bsky.app/profile/alice.test"


async def test_spent_write_budget_pauses_the_channel_then_waits_for_the_reset() -> None:
    with BlueskyFake(write_points=2).running() as fake:
        assert isinstance(fake, BlueskyFake)
        async with client() as http:
            adapter = adapter_for(fake, http)
            receipt = await adapter.publish(outgoing(["first"]), Journal(state={}))
            assert (receipt.pause_for or 0) > 3000
            with pytest.raises(TransientDeliveryError) as caught:
                await adapter.publish(outgoing(["second"]), Journal(state={}))
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 3000
    assert len(fake.posts()) == 1


# --- exactly once --------------------------------------------------------------------------------------


async def test_retry_after_commit_then_crash_gives_one_record_and_no_edit(fake: BlueskyFake) -> None:
    fake.faults.commit_then_drop(path=PUT)
    durable = DurableJournal()
    post = outgoing(["Posted once #ExactlyOnce"])
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        assert parts_state(durable)[0]["cid"] is None
        receipt = await adapter_for(fake, http).publish(post, durable.journal())
    [(uri, stored)] = fake.posts()
    assert receipt.remote_ids == (uri,)
    assert receipt.extra["cids"] == [stored.cid]
    assert [w.kind for w in fake.writes] == ["create", "noop"]
    assert fake.edits == []


async def test_reconcile_after_commit_then_crash_sends_nothing(fake: BlueskyFake) -> None:
    fake.faults.commit_then_drop(path=PUT)
    durable = DurableJournal()
    post = outgoing(["Reconciled #ExactlyOnce"])
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        puts = len(fake.requests_to("POST", PUT))
        receipt = await adapter_for(fake, http).reconcile(post, durable.journal())
    assert receipt is not None
    [(uri, _)] = fake.posts()
    assert receipt.remote_ids == (uri,)
    assert len(fake.requests_to("POST", PUT)) == puts
    assert fake.edits == []


async def test_reconcile_when_nothing_went_out_is_none_and_the_same_keys_are_reused(
    fake: BlueskyFake,
) -> None:
    fake.faults.drop(path=PUT)
    durable = DurableJournal()
    post = outgoing(("one", "two"))
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter_for(fake, http).publish(post, durable.journal())
        keys = [p["rkey"] for p in parts_state(durable)]
        assert await adapter_for(fake, http).reconcile(post, durable.journal()) is None
        receipt = await adapter_for(fake, http).publish(post, durable.journal())
    assert [uri.rsplit("/", 1)[1] for uri, _ in fake.posts()] == keys
    assert receipt.extra["rkeys"] == keys


async def test_reconcile_without_a_journal_is_none_without_a_request(fake: BlueskyFake) -> None:
    async with client() as http:
        assert await adapter_for(fake, http).reconcile(outgoing(["x"]), Journal(state={})) is None
    assert fake.requests == []


async def test_a_journal_of_another_shape_is_refused(fake: BlueskyFake) -> None:
    async with client() as http:
        adapter = adapter_for(fake, http)
        with pytest.raises(PermanentDeliveryError, match="journal version"):
            await adapter.publish(outgoing(["x"]), Journal(state={"bluesky": {"version": 99, "parts": []}}))
        durable = DurableJournal()
        await adapter.publish(outgoing(["a", "b"]), durable.journal())
        with pytest.raises(PermanentDeliveryError, match="2 parts"):
            await adapter.publish(outgoing(["a", "b", "c"]), durable.journal())
    assert len(fake.posts()) == 2
