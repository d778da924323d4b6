"""The shared HTTP plumbing: URL redaction, rate-limit parsing, error bodies, and outcome mapping."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from fakes.hostile import HugeServer, TrickleServer, deep_json
from fakes.server import FakeServer, Reply, Request, route

from scheduler.adapters.http import (
    MAX_SERVER_WAIT,
    RequestGuard,
    bounded_seconds,
    decode_json,
    describe_request,
    error_reason,
    parse_reset,
    parse_retry_after,
    quota_pause,
    rate_limit,
    read_json,
    redact_url,
    retry_after,
    send,
)
from scheduler.adapters.registry import known_networks, load_adapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import (
    AuthError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcome,
)

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()
DATE = format_datetime(datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC), usegmt=True)
TELEGRAM_TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
TELEGRAM_URL = f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage"


# --- redact_url ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (TELEGRAM_URL, "https://api.telegram.org/***/sendMessage"),
        (
            "https://discord.com/api/v10/webhooks/112233445566778899/AbCdEf-gh_IJ0123456789?wait=true",
            "https://discord.com/api/v10/webhooks/***/***?wait=***",
        ),
        (
            "https://hooks.slack.com/services/T0001/B0002/abcdefghijklmnopqrstuvwx",
            "https://hooks.slack.com/services/***/***/***",
        ),
        (
            "https://hooks.slack.com/services/TABC/BDEF/onlylettersintheslacksecret",
            "https://hooks.slack.com/services/***/***/***",
        ),
        ("https://mastodon.example/api/v1/statuses", "https://mastodon.example/api/v1/statuses"),
        (
            "https://mastodon.example/api/v1/accounts/109876543210/statuses?limit=40",
            "https://mastodon.example/api/v1/accounts/109876543210/statuses?limit=***",
        ),
        (
            "https://bsky.example/xrpc/com.atproto.repo.createRecord",
            "https://bsky.example/xrpc/com.atproto.repo.createRecord",
        ),
        ("http://user:pa55word@127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
        (
            "https://graph.threads.net/v1.0/me/threads?access_token=EAAB123secret",
            "https://graph.threads.net/v1.0/me/threads?access_token=***",
        ),
        ("http://[::1]:9000/x", "http://[::1]:9000/x"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_url_never_shows_a_token_like_segment() -> None:
    secret = "s3cr3t-T0ken_value"
    for url in (
        f"https://example.com/{secret}",
        f"https://example.com/a/{secret}/b",
        f"https://example.com/bot{secret}/getMe",
        f"https://example.com/p?token={secret}",
        f"https://{secret}@example.com/",
    ):
        assert secret not in redact_url(url)
        assert redact_url(url).startswith("https://example.com")


# --- rate-limit headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("0", 0.0),
        (format_datetime(datetime(2026, 3, 1, 12, 1, 30, tzinfo=UTC), usegmt=True), 90.0),
        (format_datetime(datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC), usegmt=True), 0.0),
        ("soon", None),
    ],
)
def test_parse_retry_after(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("2026-03-01T12:05:00.000Z", 300.0),
        ("2026-03-01T12:05:00.250000Z", 300.25),
        ("2026-03-01T13:05:00+01:00", 300.0),
        ("2026-03-01T12:05:00", 300.0),
        (str(int(NOW) + 42), 42.0),
        (f"{NOW + 2.5:.3f}", 2.5),
        ("30", 30.0),
        ("2026-03-01T11:00:00Z", 0.0),
        (str(int(NOW) - 10), 0.0),
        ("tomorrow", None),
        ("nan", None),
    ],
)
def test_parse_reset(value: str, seconds: float | None) -> None:
    assert parse_reset(value, now=NOW) == seconds


def test_parse_reset_rounds_up_to_milliseconds() -> None:
    assert parse_reset(f"{NOW + 1.0001}", now=NOW) == 1.001


@pytest.mark.parametrize(
    ("headers", "body", "seconds"),
    [
        (
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-03-01T12:00:07Z"},
            b'{"error":"Too many requests"}',
            7.0,
        ),
        ({"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 900)}, b"", 900.0),
        ({"RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) + 60)}, b"", 60.0),
        ({"Retry-After": "3"}, b"", 3.0),
        ({"X-RateLimit-Reset-After": "1.337"}, b'{"message":"rate limited","retry_after":1.337}', 1.337),
        ({}, b'{"message":"You are being rate limited.","retry_after":64.57,"global":false}', 64.57),
        ({}, b'{"ok":false,"error_code":429,"parameters":{"retry_after":35}}', 35),
        ({"Retry-After": "2", "x-rate-limit-remaining": "0", "x-rate-limit-reset": f"{NOW + 9:.0f}"}, b"", 9),
        (
            {
                "x-rate-limit-remaining": "17",
                "x-rate-limit-reset": str(int(NOW) + 60),
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(int(NOW) + 7200),
            },
            b"",
            7200.0,
        ),
        ({}, b"<html>busy</html>", None),
    ],
    ids=["mastodon", "x", "bsky", "retry-after", "discord", "discord-body", "telegram", "max", "x-24h", "-"],
)
def test_retry_after_of_a_429(
    request: pytest.FixtureRequest, headers: dict[str, str], body: bytes, seconds: float | None
) -> None:
    network = request.node.callspec.id.split("-")[0]
    adapter = load_adapter(network) if network in known_networks() else None
    reader = adapter.body_retry_after if adapter is not None else None
    families = adapter.quota_headers if adapter is not None else ()
    given = {"Date": DATE, **headers}
    assert (
        retry_after(given, body, status=429, now=NOW + 1000, wait_in_body=reader, quota_headers=families)
        == seconds
    )


def test_a_quota_header_family_counts_only_for_the_network_that_declares_it() -> None:
    headers = {
        "Date": DATE,
        "x-rate-limit-remaining": "17",
        "x-rate-limit-reset": str(int(NOW) + 60),
        "x-user-limit-24hour-limit": "100",
        "x-user-limit-24hour-remaining": "0",
        "x-user-limit-24hour-reset": str(int(NOW) + 7200),
    }
    x_families = load_adapter("x").quota_headers
    assert retry_after(headers, status=429, now=NOW) is None  # the shared families know no 24-hour quota
    assert retry_after(headers, status=429, now=NOW, quota_headers=x_families) == 7200.0
    assert (
        retry_after(headers, status=429, now=NOW, quota_headers=load_adapter("mastodon").quota_headers)
        is None
    )
    common = rate_limit(headers, now=NOW)
    assert common is not None and (common.remaining, common.exhausted) == (17, False)
    limit = rate_limit(headers, now=NOW, quota_headers=x_families)
    assert limit is not None
    assert (limit.limit, limit.remaining, limit.reset_after, limit.exhausted) == (100, 0, 7200.0, True)
    request = httpx.Request("POST", "https://x.example/2/tweets")
    used_up = httpx.Response(201, headers=headers, request=request)
    assert quota_pause(used_up) is None
    assert quota_pause(used_up, x_families) == 7200.0


def test_a_wait_in_the_body_counts_only_for_the_network_that_puts_it_there() -> None:
    telegram = b'{"ok":false,"error_code":429,"parameters":{"retry_after":35}}'
    assert retry_after({}, telegram, wait_in_body=load_adapter("discord").body_retry_after) is None
    assert retry_after({}, telegram) is None
    assert retry_after({}, telegram, wait_in_body=load_adapter("telegram").body_retry_after) == 35


def test_retry_after_counts_from_the_server_date_not_the_local_clock() -> None:
    headers = {"Date": DATE, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-03-01T12:00:30Z"}
    assert retry_after(headers, now=NOW - 3600) == 30.0
    assert retry_after({k: v for k, v in headers.items() if k != "Date"}, now=NOW + 10) == 20.0


def test_reset_of_a_window_with_requests_left_is_not_a_wait() -> None:
    headers = {"x-rate-limit-remaining": "12", "x-rate-limit-reset": str(int(NOW) + 600)}
    assert retry_after(headers, status=503, now=NOW) is None
    assert retry_after({"Retry-After": "20"}, status=503, now=NOW) == 20.0


def test_rate_limit_on_success() -> None:
    used_up = {"Date": DATE, "X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
    used_up["X-RateLimit-Reset"] = "2026-03-01T12:04:00.000Z"
    limit = rate_limit(used_up)
    assert limit is not None
    assert (limit.limit, limit.remaining, limit.reset_after, limit.exhausted) == (300, 0, 240.0, True)

    plenty = rate_limit({"x-rate-limit-limit": "100", "x-rate-limit-remaining": "99"}, now=NOW)
    assert plenty is not None
    assert not plenty.exhausted
    assert rate_limit({"Content-Type": "application/json"}) is None

    expired = rate_limit({"Date": DATE, "RateLimit-Remaining": "0", "RateLimit-Reset": str(int(NOW) - 5)})
    assert expired is not None
    assert not expired.exhausted


def test_quota_pause() -> None:
    request = httpx.Request("POST", "https://x.example/2/tweets")
    headers = {"Date": DATE, "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) + 120)}
    assert quota_pause(httpx.Response(201, headers=headers, request=request)) == 120.0
    unknown_reset = {"x-rate-limit-remaining": "0"}  # not known to be used up until a reset
    assert quota_pause(httpx.Response(201, headers=unknown_reset, request=request)) is None
    assert quota_pause(httpx.Response(201, request=request)) is None
    assert quota_pause(None) is None


TELEGRAM_SETTINGS = ChannelSettings.model_validate({"network": "telegram", "chat_id": "@news"})

# --- error bodies ----------------------------------------------------------------------------------------


def answer(status: int, body: Any = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = httpx.Request("POST", TELEGRAM_URL)
    return httpx.Response(status, content=content, headers=headers, request=request)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"error": "Validation failed: Text character limit of 500 exceeded"}, "Validation failed: Text"),
        ({"error": "InvalidRequest", "message": "Record/text must not be longer"}, "InvalidRequest: Record"),
        (
            {"title": "Forbidden", "detail": "You are not allowed to create a Tweet with duplicate content."},
            "Forbidden: You are not allowed to create a Tweet with duplicate content.",
        ),
        ({"errors": [{"message": "Unsupported Authentication"}]}, "Unsupported Authentication"),
        ({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, "Bad Request: chat"),
        ({"message": "Unknown Webhook", "code": 10015}, "Unknown Webhook (code 10015)"),
        ({"error": {"message": "(#506) Duplicate status message", "code": 506}}, "(#506) Duplicate status"),
        (b"invalid_token", "invalid_token"),
        (b"", "HTTP 400 Bad Request"),
    ],
    ids=["mastodon", "bluesky", "x", "x-errors", "telegram", "discord", "facebook", "slack", "empty"],
)
def test_error_reason(request: pytest.FixtureRequest, body: Any, reason: str) -> None:
    network = request.node.callspec.id.split("-")[0]
    explain = load_adapter(network).error_text if network in known_networks() else None
    assert error_reason(answer(400, body), explain=explain).startswith(reason)


def test_an_error_shape_is_read_by_the_adapter_that_owns_it() -> None:
    """X's problem+json and Telegram's description are their adapters' to read: else, the status line."""
    problem = answer(400, {"title": "Forbidden", "detail": "duplicate content"})
    assert error_reason(problem) == "HTTP 400 Bad Request"
    assert error_reason(problem, explain=load_adapter("x").error_text) == "Forbidden: duplicate content"
    telegram = answer(400, {"ok": False, "description": "Bad Request: chat not found"})
    assert error_reason(telegram, explain=load_adapter("x").error_text) == "HTTP 400 Bad Request"
    assert (
        error_reason(telegram, explain=load_adapter("telegram").error_text) == "Bad Request: chat not found"
    )


def test_error_reason_is_one_short_line() -> None:
    reason = error_reason(answer(400, b"line one\n\n   line two " + b"x" * 1000))
    assert "\n" not in reason
    assert reason.startswith("line one line two")
    assert len(reason) <= 300


# --- send: status mapping (MockTransport) ----------------------------------------------------------------


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def outcome(
    status: int,
    body: Any = b"",
    headers: dict[str, str] | None = None,
    **options: Any,
) -> DeliveryError:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=content, headers=headers)

    async with mock_client(reply) as client:
        with pytest.raises(DeliveryError) as caught:
            await send(client, "POST", TELEGRAM_URL, network="telegram", json={"text": "hi"}, **options)
    assert TELEGRAM_TOKEN not in str(caught.value)
    assert "api.telegram.org" in str(caught.value)
    return caught.value


@pytest.mark.anyio
async def test_2xx_is_returned() -> None:
    async with mock_client(lambda request: httpx.Response(201, json={"id": "7"})) as client:
        response = await send(client, "POST", "https://m.example/api/v1/statuses", network="mastodon")
    assert read_json(response, network="mastodon") == {"id": "7"}


@pytest.mark.anyio
async def test_429_is_transient_with_the_wait_the_adapter_reads() -> None:
    """An adapter's guard carries its readings of error bodies into every request it sends."""
    telegram = load_adapter("telegram")("tg", TELEGRAM_SETTINGS, http=httpx.AsyncClient(), root=Path("."))
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests",
        "parameters": {"retry_after": 12},
    }
    error = await outcome(429, body, guard=telegram.guard)
    await telegram.http.aclose()
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 12
    assert "answered 429: Too Many Requests; retry in 12 s" in error.reason
    assert (await outcome(429, body)).retry_after is None


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_server_errors_are_transient(status: int) -> None:
    error = await outcome(status, b"upstream sad", {"Retry-After": "5"})
    assert isinstance(error, TransientDeliveryError)
    assert error.retry_after == 5.0
    assert "upstream sad" in error.reason


@pytest.mark.anyio
@pytest.mark.parametrize("status", [401, 403])
async def test_401_and_403_are_auth_errors(status: int) -> None:
    error = await outcome(status, {"error": "The access token is invalid"})
    assert isinstance(error, AuthError)
    assert "The access token is invalid" in error.reason


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 404, 409, 413, 422])
async def test_other_4xx_are_permanent_with_the_servers_reason(status: int) -> None:
    error = await outcome(status, {"error": "Validation failed: Text character limit of 500 exceeded"})
    assert type(error) is PermanentDeliveryError
    assert "Validation failed: Text character limit of 500 exceeded" in error.reason
    assert str(status) in error.reason


@pytest.mark.anyio
async def test_unexpected_redirect_is_permanent() -> None:
    error = await outcome(302, b"", {"Location": "https://elsewhere.example/"})
    assert type(error) is PermanentDeliveryError


@pytest.mark.anyio
async def test_the_errors_hook_refines_and_falls_back() -> None:
    def duplicate(response: httpx.Response) -> DeliveryError | None:
        if response.status_code == 403 and "duplicate" in response.text:
            return UnknownOutcome(f"{describe_request('x', response.request)}: probably already posted")
        return None

    refined = await outcome(403, {"detail": "duplicate content"}, errors=duplicate)
    assert isinstance(refined, UnknownOutcome)
    fallback = await outcome(403, {"detail": "read-only app"}, errors=duplicate)
    assert isinstance(fallback, AuthError)


@pytest.mark.anyio
async def test_a_server_echoing_the_url_does_not_leak_the_secret() -> None:
    error = await outcome(404, f"no such path: /bot{TELEGRAM_TOKEN}/sendMessage".encode())
    assert TELEGRAM_TOKEN not in error.reason


def test_read_json_of_a_non_object() -> None:
    response = answer(200, b"<html>captive portal</html>")
    with pytest.raises(TransientDeliveryError):
        read_json(response, network="telegram")
    with pytest.raises(UnknownOutcome):
        read_json(response, network="telegram", idempotent=False)


# --- send: transport failures over real loopback HTTP ----------------------------------------------------


class EchoFake(FakeServer):
    name = "echo"

    def __init__(self) -> None:
        super().__init__()
        self.stored: list[Any] = []

    @route("POST", "/bot{token}/sendMessage")
    def post(self, request: Request) -> Reply:
        self.stored.append(request.json())
        return Reply.json({"ok": True, "result": {"message_id": len(self.stored)}})


@pytest.fixture
def echo() -> Iterator[EchoFake]:
    with EchoFake().running() as fake:
        yield fake


async def post_to(fake: FakeServer, *, idempotent: bool = True, timeout: float = 1.5) -> httpx.Response:
    url = f"{fake.base_url}/bot{TELEGRAM_TOKEN}/sendMessage"
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await send(client, "POST", url, network="telegram", json={"text": "hi"}, idempotent=idempotent)


@pytest.mark.anyio
async def test_loopback_success(echo: EchoFake) -> None:
    response = await post_to(echo)
    assert response.json()["result"]["message_id"] == 1
    assert echo.stored == [{"text": "hi"}]


@pytest.mark.anyio
async def test_connection_refused_is_transient_and_names_the_host() -> None:
    with EchoFake().running() as fake:
        base = fake.base_url
    async with httpx.AsyncClient() as client:
        with pytest.raises(TransientDeliveryError) as caught:
            await send(client, "POST", f"{base}/bot{TELEGRAM_TOKEN}/sendMessage", network="telegram")
    assert "127.0.0.1" in caught.value.reason
    assert "cannot connect" in caught.value.reason
    assert TELEGRAM_TOKEN not in caught.value.reason


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["timeout", "drop", "commit_then_drop"])
async def test_a_lost_answer_is_transient_when_idempotent_else_unknown(echo: EchoFake, fault: str) -> None:
    getattr(echo.faults, fault)()
    with pytest.raises(TransientDeliveryError) as transient:
        await post_to(echo, timeout=0.5)
    getattr(echo.faults, fault)()
    with pytest.raises(UnknownOutcome) as unknown:
        await post_to(echo, idempotent=False, timeout=0.5)
    for error in (transient.value, unknown.value):
        assert TELEGRAM_TOKEN not in error.reason
        assert "telegram: POST http://127.0.0.1" in error.reason
    assert len(echo.stored) == (2 if fault == "commit_then_drop" else 0)
    assert len(echo.requests) == 2


@pytest.mark.anyio
async def test_fake_faults_apply_in_order_and_after_skips(echo: EchoFake) -> None:
    echo.faults.server_error(status=502, after=1)
    await post_to(echo)
    with pytest.raises(TransientDeliveryError):
        await post_to(echo)
    await post_to(echo)
    assert echo.faults.pending == 0
    assert len(echo.stored) == 2


# --- hostile answers: waits, JSON, time and size ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1.5", 1.5),
        (-3, 0.0),
        ("1e12", MAX_SERVER_WAIT),
        ("inf", MAX_SERVER_WAIT),
        ("-inf", 0.0),
        (10**400, MAX_SERVER_WAIT),
        (-(10**400), 0.0),
        ("nan", None),
        ("soon", None),
        (True, None),
        (None, None),
        ([5], None),
    ],
)
def test_bounded_seconds(value: object, seconds: float | None) -> None:
    assert bounded_seconds(value) == seconds


HOSTILE_WAITS = [
    "1e12",
    "999999999",
    "99999999999999",
    "-5",
    "nan",
    "inf",
    "-inf",
    "1" + "0" * 400,
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Mon, 01 Jan 0001 00:00:00 GMT",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00-23:59",
    "Sun, 99 Foo 99999 99:99:99 GMT",
    "garbage",
    "",
    "1" * 100_000,
]


@pytest.mark.parametrize("value", HOSTILE_WAITS)
def test_no_server_wait_raises_or_escapes_the_bounds(value: str) -> None:
    for parse in (parse_retry_after, parse_reset):
        seconds = parse(value, now=NOW)
        assert seconds is None or 0.0 <= seconds <= MAX_SERVER_WAIT
    headers = {
        "Retry-After": value,
        "X-RateLimit-Reset": value,
        "X-RateLimit-Remaining": value,
        "x-rate-limit-reset": value,
        "RateLimit-Reset": value,
        "X-RateLimit-Reset-After": value,
        "Date": value,
    }
    wait = retry_after(headers, json.dumps({"retry_after": 1e308 * 10}).encode(), status=429)
    assert wait is None or 0.0 <= wait <= MAX_SERVER_WAIT
    limit = rate_limit(headers)
    assert limit is None or limit.reset_after is None or 0.0 <= limit.reset_after <= MAX_SERVER_WAIT


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, PermanentDeliveryError), (422, PermanentDeliveryError), (503, TransientDeliveryError)],
)
async def test_json_nested_too_deeply_is_a_bad_response_classified_by_its_status(
    status: int, kind: type[DeliveryError]
) -> None:
    error = await outcome(status, deep_json(), {"Content-Type": "application/json"})
    assert type(error) is kind
    assert f"HTTP {status}" in error.reason
    assert "a bad response: the JSON is nested too deeply to read" in error.reason


def test_a_2xx_nested_too_deeply_is_a_bad_response() -> None:
    response = answer(200, deep_json())
    with pytest.raises(TransientDeliveryError, match="bad response: the JSON is nested too deeply"):
        read_json(response, network="mastodon")
    with pytest.raises(UnknownOutcome, match="nested too deeply"):
        read_json(response, network="mastodon", idempotent=False)
    with pytest.raises(ValueError, match="nested too deeply"):
        decode_json(deep_json())


@pytest.mark.anyio
@pytest.mark.parametrize("phase", ["body", "headers"])
async def test_a_trickling_server_is_cut_off_at_the_request_deadline(
    phase: Literal["body", "headers"],
) -> None:
    guard = RequestGuard(deadline=0.5)
    with TrickleServer(interval=0.2, phase=phase).running() as server:
        async with httpx.AsyncClient(timeout=5) as client:  # each read comes well within the read timeout
            with pytest.raises(TransientDeliveryError) as transient:
                await send(client, "POST", server.url, network="webhook", content=b"{}", guard=guard)
            with pytest.raises(UnknownOutcome) as unknown:
                await send(
                    client,
                    "POST",
                    server.url,
                    network="webhook",
                    content=b"{}",
                    guard=guard,
                    idempotent=False,
                )
    for error in (transient.value, unknown.value):
        assert "no complete answer within the request deadline of 0.5 s (channel key request_deadline)" in (
            error.reason
        )
    assert len(server.requests) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("declare_length", [True, False])
async def test_a_huge_answer_is_read_up_to_the_cap_only(declare_length: bool) -> None:
    guard = RequestGuard(max_bytes=1024 * 1024)
    with HugeServer(size=50 * 1024 * 1024, declare_length=declare_length).running() as server:
        async with httpx.AsyncClient(timeout=5) as client:
            tracemalloc.start()
            try:
                with pytest.raises(TransientDeliveryError) as caught:
                    await send(client, "POST", server.url, network="webhook", content=b"{}", guard=guard)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    assert (
        "answered 200 with more than 1048576 bytes, the response size cap (channel key max_response_bytes)"
        in (caught.value.reason)
    )
    assert peak < 8 * 1024 * 1024  # the 50 MB were never held
    assert server.bytes_sent < 50 * 1024 * 1024  # the client hung up before the end


@pytest.mark.anyio
async def test_a_huge_error_answer_keeps_its_status_and_names_the_cap() -> None:
    guard = RequestGuard(max_bytes=64 * 1024)
    with HugeServer(size=5 * 1024 * 1024, status=400).running() as server:
        async with httpx.AsyncClient(timeout=5) as client:
            with pytest.raises(PermanentDeliveryError) as caught:
                await send(client, "POST", server.url, network="webhook", content=b"{}", guard=guard)
    assert "refused (400)" in caught.value.reason
    assert (
        "an answer of more than 65536 bytes, not read: channel key max_response_bytes" in caught.value.reason
    )


class QuotaFake(FakeServer):
    """Answers every post with a 429 whose only wait is X's 24-hour quota."""

    name = "quota"

    @route("POST", "/2/tweets")
    def post(self, request: Request) -> Reply:
        headers = {
            "x-rate-limit-remaining": "40",
            "x-rate-limit-reset": "60",  # seconds from now, as Retry-After: the server sets its own Date
            "x-app-limit-24hour-remaining": "0",
            "x-app-limit-24hour-reset": "3600",
        }
        return Reply.json({"title": "Too Many Requests"}, status=429, headers=headers)


@pytest.mark.anyio
async def test_an_adapters_guard_carries_its_quota_headers_over_http(tmp_path: Path) -> None:
    x_settings = ChannelSettings(network="x")  # type: ignore[call-arg]
    with QuotaFake().running() as fake:
        async with httpx.AsyncClient() as http:
            x = load_adapter("x")("x", x_settings, http=http, root=tmp_path)
            waits = []
            for guard in (x.guard, None):
                with pytest.raises(TransientDeliveryError) as caught:
                    await send(http, "POST", f"{fake.base_url}/2/tweets", network="x", guard=guard, json={})
                waits.append(caught.value.retry_after)
    assert waits == [3600.0, None]
