"""X specifics beyond the contract: OAuth 1.0a signing (documented worked example), OAuth 2.0 refresh, the
duplicate 403, receipt links, and weighted length."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from fakes.x import XFake
from pydantic import SecretStr

from scheduler.adapters.http import PAUSE_KEY
from scheduler.adapters.oauth1 import Credentials, authorization_header
from scheduler.adapters.x import XAdapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, PermanentDeliveryError, UnknownOutcome

from .contract import THREAD, DurableJournal, client, fresh, outgoing

# --- OAuth 1.0a: the worked example of X's "Creating a signature" page --------------------------------------

DOC_URL = "https://api.twitter.com/1.1/statuses/update.json"
DOC_PARAMS = [
    ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
    ("include_entities", "true"),
    ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
    ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "1318622958"),
    ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
    ("oauth_version", "1.0"),
]
DOC_CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
DOC_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"
DOC_SIGNATURE = "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
"""What HMAC-SHA1 of the documented base string and key gives (reproduced by every conforming implementation,
oauthlib included; the page's header example prints another value that its own inputs do not produce)."""


def header_fields(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    pairs = (item.strip().partition("=") for item in header.removeprefix("OAuth ").split(","))
    return {name: unquote(value.strip('"')) for name, _, value in pairs}


def test_authorization_header_of_the_documented_example() -> None:
    """The signature oauthlib computes for X's worked example, with its form body and query parameter."""
    credentials = Credentials(
        "xvz1evFS4wEEPTGEFPHBog", DOC_CONSUMER_SECRET, DOC_PARAMS[6][1], DOC_TOKEN_SECRET
    )
    header = authorization_header(
        "POST",
        f"{DOC_URL}?include_entities=true",
        credentials=credentials,
        form=[DOC_PARAMS[0]],
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        timestamp=1318622958,
    )
    assert header_fields(header) == {
        "oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog",
        "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        "oauth_signature": DOC_SIGNATURE,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": "1318622958",
        "oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "oauth_version": "1.0",
    }
    assert repr(credentials) == "Credentials(***)"


def test_each_header_gets_a_fresh_nonce_and_no_body_is_signed_for_json() -> None:
    credentials = Credentials("ck", "cs", "1-at", "ats")
    first = header_fields(authorization_header("POST", "https://api.x.com/2/tweets", credentials=credentials))
    second = header_fields(
        authorization_header("POST", "https://api.x.com/2/tweets", credentials=credentials)
    )
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert first["oauth_signature"] != second["oauth_signature"]


# --- the adapter against the fake --------------------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[XFake]:
    with XFake().running() as running:
        yield running


def oauth1(fake: XFake, **extra: object) -> ChannelSettings:
    values: dict[str, object] = {
        "network": "x",
        "base_url": fake.base_url,
        "api_key": SecretStr(fake.consumer[0]),
        "api_secret": SecretStr(fake.consumer[1]),
        "access_token": SecretStr(fake.access[0]),
        "access_token_secret": SecretStr(fake.access[1]),
    }
    return ChannelSettings(**{**values, **extra})


def oauth2(fake: XFake, **extra: object) -> ChannelSettings:
    values: dict[str, object] = {
        "network": "x",
        "base_url": fake.base_url,
        "oauth2_token": SecretStr("o2-access"),
        "oauth2_refresh_token": SecretStr("o2-refresh"),
        "client_id": fake.client_id,
    }
    return ChannelSettings(**{**values, **extra})


def x(http: httpx.AsyncClient, config: ChannelSettings, tmp_path: Path) -> XAdapter:
    return XAdapter("x", config, http=http, root=tmp_path)


def test_fake_refuses_a_replayed_nonce(fake: XFake) -> None:
    url = f"{fake.base_url}/2/users/me"
    credentials = Credentials(*fake.consumer, *fake.access)
    header = authorization_header("GET", url, credentials=credentials)
    assert httpx.get(url, headers={"Authorization": header}).status_code == 200
    replay = httpx.get(url, headers={"Authorization": header})
    assert replay.status_code == 401
    assert replay.headers["content-type"].startswith("application/problem+json")


@pytest.mark.anyio
async def test_thread_payloads_and_links(fake: XFake, tmp_path: Path) -> None:
    async with client() as http:
        receipt = await x(http, oauth1(fake), tmp_path).publish(outgoing(THREAD), fresh())
    bodies = [r.json() for r in fake.requests_to("POST", "^/2/tweets$")]
    ids = [t.id for t in fake.tweets]
    assert bodies == [
        {"text": THREAD[0]},
        {"text": THREAD[1], "reply": {"in_reply_to_tweet_id": ids[0]}},
        {"text": THREAD[2], "reply": {"in_reply_to_tweet_id": ids[1]}},
    ]
    assert receipt.url == f"https://x.com/i/web/status/{ids[0]}"


@pytest.mark.anyio
async def test_receipt_links_use_the_username(fake: XFake, tmp_path: Path) -> None:
    async with client() as http:
        named = await x(http, oauth1(fake, username="@alice_x"), tmp_path).publish(outgoing(["one"]), fresh())
        adapter = x(http, oauth1(fake), tmp_path)
        identity = await adapter.check()
        checked = await adapter.publish(outgoing(["two"], delivery_id="d-2"), fresh())
    assert named.url == f"https://x.com/alice_x/status/{fake.tweets[0].id}"
    assert identity.account == "@alice_x"
    assert checked.url == f"https://x.com/alice_x/status/{fake.tweets[1].id}"


@pytest.mark.anyio
async def test_duplicate_content_is_unknown_and_never_resent(fake: XFake, tmp_path: Path) -> None:
    durable = DurableJournal()
    async with client() as http:
        await x(http, oauth1(fake), tmp_path).publish(outgoing(["same words"], delivery_id="a"), fresh())
        with pytest.raises(UnknownOutcome) as caught:
            await x(http, oauth1(fake), tmp_path).publish(
                outgoing(["same words"], delivery_id="b"), durable.journal()
            )
        assert "duplicate content" in caught.value.reason
        assert "probably out already" in caught.value.reason
        with pytest.raises(UnknownOutcome):
            await x(http, oauth1(fake), tmp_path).reconcile(
                outgoing(["same words"], delivery_id="b"), durable.journal()
            )
        with pytest.raises(UnknownOutcome):
            await x(http, oauth1(fake), tmp_path).publish(
                outgoing(["same words"], delivery_id="b"), durable.journal()
            )
    assert len(fake.requests_to("POST", "^/2/tweets$")) == 2
    assert len(fake.tweets) == 1


@pytest.mark.anyio
async def test_weighted_length_is_checked_before_sending(fake: XFake, tmp_path: Path) -> None:
    url = "https://example.com/" + "p" * 100
    async with client() as http:
        adapter = x(http, oauth1(fake), tmp_path)
        await adapter.publish(outgoing(["a" * 256 + " " + url], delivery_id="fits"), fresh())
        await adapter.publish(outgoing(["漢" * 140], delivery_id="cjk"), fresh())
        sent = len(fake.requests)
        for text in ("b" * 257 + " " + url, "字" * 141):
            with pytest.raises(PermanentDeliveryError) as caught:
                await adapter.publish(outgoing([text], delivery_id="long"), fresh())
            assert not isinstance(caught.value, AuthError)
    assert len(fake.tweets) == 2
    assert len(fake.requests) == sent


@pytest.mark.anyio
async def test_oauth2_token_is_refreshed_once_and_kept_in_memory(fake: XFake, tmp_path: Path) -> None:
    fake.expire_oauth2_tokens()
    async with client() as http:
        adapter = x(http, oauth2(fake), tmp_path)
        await adapter.publish(outgoing(["first"], delivery_id="1"), fresh())
        assert fake.refreshes == 1
        await adapter.publish(outgoing(["second"], delivery_id="2"), fresh())
        assert fake.refreshes == 1
        fake.expire_oauth2_tokens()
        await adapter.publish(outgoing(["third"], delivery_id="3"), fresh())
        assert fake.refreshes == 2, "the rotated refresh token was used"
    refresh_calls = fake.requests_to("POST", "^/2/oauth2/token$")
    assert [r.fields()["refresh_token"] for r in refresh_calls] == ["o2-refresh", "o2-refresh-1"]
    assert [t.text for t in fake.tweets] == ["first", "second", "third"]


@pytest.mark.anyio
async def test_refreshed_oauth2_tokens_are_written_to_their_files(fake: XFake, tmp_path: Path) -> None:
    (tmp_path / "x.access").write_text("o2-access\n", encoding="utf-8")
    (tmp_path / "x.refresh").write_text("o2-refresh\n", encoding="utf-8")
    config = oauth2(fake, oauth2_token_file="x.access", oauth2_refresh_token_file="x.refresh")
    fake.expire_oauth2_tokens()
    async with client() as http:
        await x(http, config, tmp_path).publish(outgoing(["first"], delivery_id="1"), fresh())
        fake.expire_oauth2_tokens()
        restarted = config.model_copy(
            update={
                "oauth2_token": SecretStr((tmp_path / "x.access").read_text().strip()),
                "oauth2_refresh_token": SecretStr((tmp_path / "x.refresh").read_text().strip()),
            }
        )
        await x(http, restarted, tmp_path).publish(outgoing(["second"], delivery_id="2"), fresh())
    assert (tmp_path / "x.access").read_text(encoding="utf-8") == "o2-access-2\n"
    assert (tmp_path / "x.refresh").read_text(encoding="utf-8") == "o2-refresh-2\n"
    assert [t.text for t in fake.tweets] == ["first", "second"], (
        "the rotated refresh token survived a restart"
    )


@pytest.mark.anyio
async def test_a_failed_refresh_says_what_to_do(fake: XFake, tmp_path: Path) -> None:
    fake.expire_oauth2_tokens()
    config = oauth2(fake, oauth2_refresh_token=SecretStr("used-up-refresh-token"))
    async with client() as http:
        with pytest.raises(AuthError) as caught:
            await x(http, config, tmp_path).publish(outgoing(["nope"]), fresh())
    assert "authorize again" in caught.value.reason
    assert "used-up-refresh-token" not in caught.value.reason
    assert fake.tweets == []


@pytest.mark.anyio
async def test_missing_or_partial_credentials(fake: XFake, tmp_path: Path) -> None:
    partial = oauth1(fake, access_token_secret=None)
    nothing = ChannelSettings(network="x", base_url=fake.base_url)
    async with client() as http:
        with pytest.raises(AuthError) as half:
            await x(http, partial, tmp_path).check()
        with pytest.raises(AuthError) as none:
            await x(http, nothing, tmp_path).publish(outgoing(["x"]), fresh())
    assert "missing: access_token_secret" in half.value.reason
    assert "oauth2_token" in none.value.reason
    assert fake.requests == []


@pytest.mark.anyio
async def test_quota_used_up_on_success_asks_for_a_pause(fake: XFake, tmp_path: Path) -> None:
    fake.remaining = 1
    async with client() as http:
        receipt = await x(http, oauth1(fake), tmp_path).publish(outgoing(["last one"]), fresh())
    assert receipt.extra[PAUSE_KEY] > 0
