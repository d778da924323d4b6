"""No server answer can hang a send or fill the memory: each request of a channel ends at its
``request_deadline`` (connect, headers and body together) and reads at most ``max_response_bytes``; an answer
the JSON parser cannot read (nested 200 000 deep) is a bad response, classified by its status, not a bug.
End to end: the service's dispatch, a webhook channel, loopback servers, a real SQLite outbox."""

from __future__ import annotations

import pytest
from fakes.hostile import HugeServer, ScriptedWebhook, TrickleServer, deep_json
from fakes.server import Reply
from service.conftest import DUE, Site, article, config_text, dispatch, real_now

from scheduler.config.loader import load_workspace
from scheduler.errors import ConfigError
from scheduler.store import DeliveryState

PAST = DUE


def one_post(site: Site, url: str, **channel: object) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": url, **channel}}))
    site.write_post("p1.md", article("Post 1", publish_at=PAST))
    site.ingest(real_now())


def test_a_trickling_receiver_is_given_up_on_at_the_channels_request_deadline(site: Site) -> None:
    with TrickleServer(interval=0.2).running() as server:
        one_post(site, server.url, request_deadline="0.5s")
        report = dispatch(site.workspace, site.store)
    assert report.count("retrying") == 1
    [delivery] = site.store.list()
    assert delivery.state is DeliveryState.RETRYING
    assert "no complete answer within the request deadline of 0.5 s (channel key request_deadline)" in (
        delivery.last_error or ""
    )
    assert len(server.requests) == 1


def test_a_huge_answer_is_not_read_past_the_channels_cap(site: Site) -> None:
    with HugeServer(size=50 * 1024 * 1024).running() as server:
        one_post(site, server.url, max_response_bytes=1048576)
        report = dispatch(site.workspace, site.store)
    assert report.count("retrying") == 1
    [delivery] = site.store.list()
    assert "with more than 1048576 bytes, the response size cap (channel key max_response_bytes)" in (
        delivery.last_error or ""
    )
    assert server.bytes_sent < 50 * 1024 * 1024


@pytest.mark.parametrize(("status", "state"), [(400, DeliveryState.FAILED), (503, DeliveryState.RETRYING)])
def test_json_nested_too_deeply_is_a_bad_response_not_a_bug(
    site: Site, status: int, state: DeliveryState, caplog: pytest.LogCaptureFixture
) -> None:
    with ScriptedWebhook().running() as receiver:
        one_post(site, receiver.url)
        receiver.script(Reply(status, deep_json(), {"Content-Type": "application/json"}))
        dispatch(site.workspace, site.store)
    [delivery] = site.store.list()
    assert delivery.state is state
    error = delivery.last_error or ""
    assert f"answered {status}" in error or f"refused ({status})" in error
    assert "a bad response: the JSON is nested too deeply to read" in error
    assert "a bug" not in error and "RecursionError" not in error
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("request_deadline", "0s", "request_deadline must be longer than 0s"),
        ("request_deadline", "soon", "is not a duration"),
        ("max_response_bytes", 10, "greater than or equal to 1024"),
    ],
)
def test_the_bounds_are_checked_when_the_config_is_read(
    site: Site, key: str, value: object, problem: str
) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": "http://127.0.0.1:9/", key: value}}))
    with pytest.raises(ConfigError) as caught:
        load_workspace(site.root / "config" / "tagcast.toml")
    text = str(caught.value)
    assert f"channels.hook.{key}" in text and problem in text
