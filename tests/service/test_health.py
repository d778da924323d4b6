"""``tagcast serve --http``: ``/healthz`` says 200 while the clock runs and the outbox answers, 503 with the
reason when the outbox goes away; ``/metrics`` speaks the Prometheus text format; the address parsing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest
from fakes.webhook import WebhookFake
from prometheus_client.parser import text_string_to_metric_families

from scheduler.service.endpoint import Address
from scheduler.store import Store, StoreError

from .conftest import DUE, Site, article, config_text
from .processes import Serve

PAST = DUE


def endpoint(serve: Serve) -> str:
    serve.wait_for_log("serving /healthz and /metrics on")
    match = re.search(r"serving /healthz and /metrics on (http://[\d.]+:\d+)", serve.output)
    assert match is not None, serve.output
    return match.group(1)


def test_healthz_turns_503_when_the_outbox_goes_away(site: Site, webhook: WebhookFake) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": webhook.url}}))
    site.write_post("p.md", article("Post", publish_at=PAST))
    serve = Serve(site.root, "--http", "127.0.0.1:0", log=site.root / "serve.log")
    try:
        url = endpoint(serve)
        serve.wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 200, "the service to be healthy")
        healthy = httpx.get(f"{url}/healthz")
        assert healthy.headers["content-type"] == "application/json"
        assert healthy.json()["checks"] == {"clock": "ok", "outbox": "ok"}
        serve.wait_for(lambda: len(webhook.deliveries) == 1, "the post to go out")

        metrics = httpx.get(f"{url}/metrics")
        assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
        families = {family.name: family for family in text_string_to_metric_families(metrics.text)}
        assert {
            "tagcast_deliveries",
            "tagcast_queue_depth",
            "tagcast_channel_paused",
            "tagcast_delivery_attempts",
            "tagcast_dispatch_lateness_seconds",
            "tagcast_outbox_up",
        } <= set(families)
        sent = [s for s in families["tagcast_deliveries"].samples if s.labels["state"] == "sent"]
        assert [(s.labels["channel"], s.value) for s in sent] == [("hook", 1.0)]
        assert httpx.head(f"{url}/metrics").content == b""
        assert httpx.get(f"{url}/nothing-here").status_code == 404
        assert httpx.post(f"{url}/healthz").status_code == 405

        shutil.rmtree(site.root / "var")  # the outbox file and its folder are gone
        serve.wait_for(lambda: httpx.get(f"{url}/healthz").status_code == 503, "the health check to fail")
        sick = httpx.get(f"{url}/healthz").json()
        assert sick["status"] == "unavailable" and sick["checks"]["clock"] == "ok"
        assert "tagcast.db is missing" in sick["checks"]["outbox"]
    finally:
        serve.stop()


def test_a_store_that_no_longer_answers_fails_its_ping(tmp_path: Path) -> None:
    store = Store.open("sqlite:///var/tagcast.db", root=tmp_path)
    store.ping()
    store.engine.dispose()
    database = tmp_path / "var" / "tagcast.db"
    for leftover in database.parent.glob("tagcast.db*"):
        leftover.unlink()
    database.mkdir()  # the file replaced by a directory: nothing can open it
    with pytest.raises(StoreError, match="missing"):
        store.ping()
    database.rmdir()
    database.write_bytes(b"this is not a database file, it is just text that is long enough" * 20)
    with pytest.raises(StoreError, match="does not answer"):
        store.ping()
    store.close()


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("9464", Address("127.0.0.1", 9464)),
        (":9464", Address("127.0.0.1", 9464)),
        ("127.0.0.1:0", Address("127.0.0.1", 0)),
        ("0.0.0.0:9464", Address("0.0.0.0", 9464)),
        ("[::1]:9464", Address("::1", 9464)),
        ("localhost:9464", Address("localhost", 9464)),
    ],
)
def test_http_addresses_are_loopback_unless_a_host_is_named(text: str, address: Address) -> None:
    assert Address.parse(text) == address
    assert Address.parse(text).loopback is (address.host != "0.0.0.0")


@pytest.mark.parametrize("text", ["", "host", "127.0.0.1:99999", "127.0.0.1:http"])
def test_http_addresses_that_are_not_host_and_port_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HOST:PORT"):
        Address.parse(text)
