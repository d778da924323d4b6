"""The generic webhook: body, signature (checked with the docstring's example), dedupe on retry, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fakes.server import closed_url
from fakes.webhook import WebhookFake
from media_files import image_media
from pydantic import SecretStr

import scheduler.adapters.webhook as webhook_module
from scheduler.adapters.webhook import WebhookAdapter, delivery_body, sign
from scheduler.config.models import ChannelSettings
from scheduler.errors import AuthError, DeliveryError, PermanentDeliveryError, TransientDeliveryError
from scheduler.models import Article, Hashtag

from .contract import SINGLE, THREAD, DurableJournal, client, network_fault, outgoing, shown

SECRET = "whsec-Very-Secret-Value-42"

pytestmark = pytest.mark.anyio


def documented_verify() -> Callable[[str, bytes, dict[str, str]], bool]:
    """The ``verify`` function exactly as the module docstring shows it to receivers."""
    doc = webhook_module.__doc__ or ""
    match = re.search(
        r"\n(    import hashlib, hmac, time\n.*?return hmac\.compare_digest\([^\n]*\n)", doc, re.DOTALL
    )
    assert match is not None, "the docstring lost its verification example"
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(match.group(1)), namespace)
    verify: Callable[[str, bytes, dict[str, str]], bool] = namespace["verify"]
    return verify


@pytest.fixture
def fake() -> Iterator[WebhookFake]:
    with WebhookFake(secret=SECRET).running() as running:
        assert isinstance(running, WebhookFake)
        yield running


def adapter(fake: WebhookFake, http: httpx.AsyncClient, **overrides: Any) -> WebhookAdapter:
    values: dict[str, Any] = {"network": "webhook", "url": fake.url, "secret": SecretStr(SECRET), **overrides}
    return WebhookAdapter("hook", ChannelSettings(**values), http=http, root=Path("."))


ARTICLE = Article(
    source="posts/khalkhin-gol.md",
    title="Khalkhin Gol",
    body="In 1939 …",
    url="https://example.com/kg",
    hashtags=(Hashtag("KhalkhinGol"), Hashtag("WWII")),
    published=datetime(2024, 8, 20, 9, 0, tzinfo=UTC),
    extra={"series": "battles", "when": datetime(2024, 1, 1, tzinfo=UTC)},
)


async def test_body_and_headers(fake: WebhookFake) -> None:
    post = replace(outgoing(THREAD), article=ARTICLE)
    async with client() as http:
        receipt = await adapter(fake, http).publish(post, DurableJournal().journal())
    [delivery] = fake.deliveries
    assert delivery.body == {
        "event": "delivery",
        "delivery_id": "d-1",
        "idempotency_key": "tagcast-d-1",
        "channel": "main",
        "parts": list(THREAD),
        "article": {
            "title": "Khalkhin Gol",
            "url": "https://example.com/kg",
            "source": "posts/khalkhin-gol.md",
            "hashtags": ["KhalkhinGol", "WWII"],
            "body": "In 1939 …",
            "reference": None,
            "explore": None,
            "published": "2024-08-20T09:00:00+00:00",
            "publish_at": None,
            "extra": {"series": "battles", "when": "2024-01-01T00:00:00+00:00"},
        },
        "images": [],
    }
    headers = delivery.headers
    assert headers["idempotency-key"] == "tagcast-d-1"
    assert headers["x-tagcast-event"] == "delivery"
    assert headers["x-tagcast-delivery"] == "d-1"
    assert headers["content-type"] == "application/json"
    assert abs(int(headers["x-tagcast-timestamp"]) - time.time()) < 5
    assert receipt.remote_ids == (delivery.id,)
    assert receipt.url == f"{fake.base_url}/deliveries/{delivery.id}"


async def test_signature_verifies_with_the_documented_example(fake: WebhookFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    [delivery] = fake.deliveries
    headers = {
        "X-Tagcast-Timestamp": delivery.headers["x-tagcast-timestamp"],
        "X-Tagcast-Signature": delivery.headers["x-tagcast-signature"],
    }
    verify = documented_verify()
    assert verify(SECRET, delivery.raw, headers)
    assert not verify("another-secret", delivery.raw, headers)
    assert not verify(SECRET, delivery.raw + b" ", headers)
    stale = {**headers, "X-Tagcast-Timestamp": str(int(headers["X-Tagcast-Timestamp"]) - 600)}
    assert not verify(SECRET, delivery.raw, stale)


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert sign("k", 1700000000, b"{}") == f"sha256={expected}"


def test_the_body_is_the_same_bytes_every_time() -> None:
    post = replace(outgoing(THREAD), article=ARTICLE)
    assert delivery_body(post) == delivery_body(replace(post))
    assert json.loads(delivery_body(post))["parts"] == list(THREAD)


async def test_without_a_secret_nothing_is_signed() -> None:
    with WebhookFake(secret=None).running() as fake:
        assert isinstance(fake, WebhookFake)
        async with client() as http:
            await adapter(fake, http, secret=None).publish(outgoing(["x"]), DurableJournal().journal())
        headers = fake.deliveries[0].headers
    assert "x-tagcast-signature" not in headers
    assert "x-tagcast-timestamp" not in headers


async def test_reconcile_reposts_and_the_receiver_dedupes(fake: WebhookFake) -> None:
    fake.faults.commit_then_drop()
    durable = DurableJournal()
    async with client() as http:
        with pytest.raises(TransientDeliveryError):
            await adapter(fake, http).publish(outgoing(THREAD), durable.journal())
        receipt = await adapter(fake, http).reconcile(outgoing(THREAD), durable.journal())
    assert receipt is not None
    assert len(fake.deliveries) == 1
    assert fake.replays == 1
    assert receipt.remote_ids == (fake.deliveries[0].id,)
    first, second = (r.headers for r in fake.requests)
    assert first["idempotency-key"] == second["idempotency-key"]


async def test_a_receiver_without_an_id(fake: WebhookFake) -> None:
    fake.answer_json = False
    async with client() as http:
        receipt = await adapter(fake, http).publish(outgoing(["x"]), DurableJournal().journal())
    assert receipt.remote_ids == ()
    assert receipt.url is None
    assert receipt.extra == {"status": 200}


async def test_same_key_with_another_body_is_permanent(fake: WebhookFake) -> None:
    async with client() as http:
        await adapter(fake, http).publish(outgoing(["first"]), DurableJournal().journal())
        with pytest.raises(PermanentDeliveryError, match="422") as caught:
            await adapter(fake, http).publish(outgoing(["changed"]), DurableJournal().journal())
    assert not isinstance(caught.value, AuthError)


async def test_wrong_secret_is_an_auth_error(fake: WebhookFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError, match="signature or the secret"):
            await adapter(fake, http, secret=SecretStr("wrong")).publish(
                outgoing(["x"]), DurableJournal().journal()
            )
        with pytest.raises(AuthError):
            await adapter(fake, http, secret=SecretStr("wrong")).check()
    assert fake.deliveries == []


async def test_check_sends_a_signed_ping_and_no_delivery(fake: WebhookFake) -> None:
    async with client() as http:
        identity = await adapter(fake, http).check()
    [ping] = fake.pings
    assert ping.headers["x-tagcast-event"] == "ping"
    assert "idempotency-key" not in ping.headers
    assert json.loads(ping.body) == {"event": "ping", "channel": "hook"}
    assert fake.deliveries == []
    assert identity.detail == "ping answered; deliveries are signed with HMAC-SHA256"


async def test_missing_url(fake: WebhookFake) -> None:
    async with client() as http:
        with pytest.raises(AuthError, match="has no url"):
            await adapter(fake, http, url=None).check()


# --- the secret never shows ---------------------------------------------------------------------------------


FAILURES: dict[str, type[DeliveryError]] = {
    "wrong-secret": AuthError,
    "key-reused": PermanentDeliveryError,
    "too-long-locally": PermanentDeliveryError,
    "rate-limited": TransientDeliveryError,
    "server-error": TransientDeliveryError,
    "timeout": TransientDeliveryError,
    "dropped": TransientDeliveryError,
    "connection-refused": TransientDeliveryError,
}


@pytest.mark.parametrize("kind", list(FAILURES))
async def test_the_secret_never_appears_in_an_error(fake: WebhookFake, kind: str) -> None:
    overrides: dict[str, Any] = {}
    text = "hello"
    network_fault(fake, kind)
    async with client() as http:
        if kind == "wrong-secret":
            overrides = {"secret": SecretStr("wrong-" + SECRET)}
        elif kind == "key-reused":
            await adapter(fake, http).publish(outgoing(["before"]), DurableJournal().journal())
        elif kind == "too-long-locally":
            text = "a" * 100_001
        elif kind == "connection-refused":
            overrides = {"url": fake.url.replace(fake.base_url, closed_url())}
        chosen = adapter(fake, http, **overrides)
        with pytest.raises(FAILURES[kind]) as caught:
            await chosen.publish(outgoing([text]), DurableJournal().journal())
    error = caught.value
    secret = chosen.settings.secret_value("secret") or SECRET
    for text in shown(error):
        assert secret not in text


async def test_images_travel_in_the_signed_body(fake: WebhookFake, tmp_path: Path) -> None:
    [image] = image_media(tmp_path, 1, mime="image/png", size=(20, 10), alt="A red bar")
    post = outgoing([SINGLE], media=(image,))
    async with client() as http:
        await adapter(fake, http).publish(post, DurableJournal().journal())
    [delivery] = fake.deliveries
    assert delivery.body["images"] == [
        {
            "src": "images/photo1.jpg",
            "alt": "A red bar",
            "mime": "image/png",
            "width": 20,
            "height": 10,
            "bytes": image.size,
            "sha256": image.sha256,
            "data": base64.b64encode(image.path.read_bytes()).decode(),
        }
    ]
    assert [(p.sha256, alt) for p, alt in delivery.images] == [(image.sha256, "A red bar")]
    headers = {
        "X-Tagcast-Timestamp": delivery.headers["x-tagcast-timestamp"],
        "X-Tagcast-Signature": delivery.headers["x-tagcast-signature"],
    }
    assert documented_verify()(SECRET, delivery.raw, headers), "the signature covers the images"
    assert delivery_body(post) == delivery_body(post), "a retry sends the same bytes"
