"""The adapter examples of docs/adapters.md run as written, against a fake server over real HTTP."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fakes.server import FakeServer, Reply, Request, route
from typer.testing import CliRunner

from scheduler.adapters.base import Adapter, Journal, Outgoing
from scheduler.adapters.registry import installed, known_networks, rules_for
from scheduler.cli.app import app
from scheduler.config.credentials import secret_keys
from scheduler.config.models import ChannelSettings
from scheduler.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from scheduler.models import Article
from scheduler.web.entities import segments
from tests.conftest import REPO

Refused = TypeVar("Refused", bound=DeliveryError)


def readme_adapter_class(name: str = "PigeonAdapter") -> type[Adapter]:
    guide = (REPO / "docs" / "adapters.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", guide, re.DOTALL)
    assert len(blocks) == 2, "docs/adapters.md shows the adapter and its refreshing variant"
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block, "docs/adapters.md", "exec"), namespace)
    cls = namespace[name]
    assert issubclass(cls, Adapter)
    return cls  # type: ignore[no-any-return]


class PigeonFake(FakeServer):
    name = "pigeon"

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}

    @route("POST", "/messages")
    def post_message(self, request: Request) -> Reply:
        if request.headers.get("authorization") != "Bearer s3cret":
            return Reply.json({"error": "bad token"}, status=401)
        if request.json()["text"] == "fault":
            return Reply.json({"fault": {"why": "pigeons carry no faults"}}, status=400)
        if request.json()["text"] == "slow":  # today's quota used up: only the network's own headers say so
            daily = {"x-pigeon-daily-remaining": "0", "x-pigeon-daily-reset": "600"}
            return Reply.json({"fault": {"why": "no pigeons left today"}}, status=429, headers=daily)
        key = request.headers["idempotency-key"]
        if key not in self.by_key:
            message_id = f"m{len(self.messages) + 1}"
            self.messages[message_id] = request.json()
            self.by_key[key] = message_id
        return Reply.json({"id": self.by_key[key]})

    @route("GET", "/me")
    def me(self, request: Request) -> Reply:
        return Reply.json({"name": "Pigeon Post"})

    @route("POST", "/token/refresh")
    def refresh(self, request: Request) -> Reply:
        if request.headers.get("authorization") != "Bearer s3cret":
            return Reply.json({"error": "bad token"}, status=401)
        return Reply.json({"access_token": "s3cret-renewed", "expires_in": 30 * 86400})


def refused(cls: type[Adapter], root: Path, text: str, error: type[Refused]) -> tuple[Refused, str]:
    """The error of ``cls`` publishing ``text`` to a pigeon fake (which must raise ``error``), and the
    fake's base URL."""
    article = Article(source="posts/a.md", title="A", body="B")
    post = Outgoing(delivery_id="d_1", idempotency_key="k", parts=(text,), article=article, channel="p")
    with PigeonFake().running() as fake:
        settings = ChannelSettings(network="pigeon", base_url=fake.base_url, token="s3cret")  # type: ignore[arg-type]

        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                await cls("p", settings, http=http, root=root).publish(post, Journal(state={}))

        with pytest.raises(error) as caught:
            asyncio.run(scenario())
    return caught.value, fake.base_url


def test_the_readme_adapter_posts_a_thread_and_checks(tmp_path: Path) -> None:
    cls = readme_adapter_class()
    article = Article(source="posts/a.md", title="A", body="B")
    parts = ("one", "two")
    post = Outgoing(delivery_id="d_1", idempotency_key="k", parts=parts, article=article, channel="p")
    with PigeonFake().running() as fake:
        settings = ChannelSettings(network="pigeon", base_url=fake.base_url, token="s3cret")  # type: ignore[arg-type]

        async def scenario() -> None:
            async with httpx.AsyncClient() as http:
                adapter = cls("p", settings, http=http, root=tmp_path)
                journal = Journal(state={})
                receipt = await adapter.publish(post, journal)
                assert receipt.remote_ids == ("m1", "m2")
                assert receipt.url == "https://pigeon.example/m/m1"
                again = await adapter.publish(post, journal)
                assert again.remote_ids == ("m1", "m2")
                assert (await adapter.check()).account == "Pigeon Post"

        asyncio.run(scenario())
        assert fake.messages == {
            "m1": {"text": "one", "reply_to": None},
            "m2": {"text": "two", "reply_to": "m1"},
        }
        assert len(fake.requests_to("POST", "/messages")) == 2, "the journal skips parts already sent"


def test_the_readme_adapter_declares_what_its_network_accepts(tmp_path: Path) -> None:
    """Its length rules and error shape come from its class, read the way tagcast reads its own."""
    cls = readme_adapter_class()
    rules = cls.length_rules(ChannelSettings(network="pigeon"))  # type: ignore[call-arg]
    assert (rules.network, rules.limit, rules.unit) == ("pigeon", 280, "graphemes")
    assert rules.violations(" ") == ["empty text: pigeon refuses a post without text"]
    links = " ".join(f"https://example.org/{n}" for n in range(5))
    assert rules.violations(links) == ["5 different links, limit 4"]
    assert rules.count("e\u0301" * 3) == 3
    assert cls.length_rules(ChannelSettings(network="pigeon", limit=100)).limit == 100  # type: ignore[call-arg]
    assert cls.secrets == ("token",)

    error, base_url = refused(cls, tmp_path, "fault", PermanentDeliveryError)
    assert error.reason == f"pigeon: POST {base_url}/messages refused (400): pigeons carry no faults"


def test_the_readme_refreshing_adapter_keeps_the_new_token_in_its_file(tmp_path: Path) -> None:
    cls = readme_adapter_class("RefreshingPigeonAdapter")
    (tmp_path / "pigeon.token").write_text("s3cret\n", encoding="utf-8")
    with PigeonFake().running() as fake:
        filed = ChannelSettings(
            network="pigeon",
            base_url=fake.base_url,
            token="s3cret",  # type: ignore[arg-type]
            token_file="pigeon.token",
        )
        from_env = ChannelSettings(network="pigeon", base_url=fake.base_url, token="s3cret")  # type: ignore[arg-type]

        async def scenario() -> tuple[Any, Any]:
            async with httpx.AsyncClient() as http:
                refreshed = await cls("p", filed, http=http, root=tmp_path).check()
                unfiled = await cls("p", from_env, http=http, root=tmp_path).check()
                return refreshed, unfiled

        refreshed, unfiled = asyncio.run(scenario())
        assert len(fake.requests_to("POST", "/token/refresh")) == 1
    assert (tmp_path / "pigeon.token").read_text(encoding="utf-8") == "s3cret-renewed\n"
    assert refreshed.account == "Pigeon Post"
    assert refreshed.detail.startswith("the token expires on ")
    assert refreshed.detail.endswith("(in 30 days)")
    assert unfiled.detail == "set token_file so the token can be refreshed"


def test_the_readme_adapter_waits_for_the_reset_of_its_own_quota_headers(tmp_path: Path) -> None:
    error, _ = refused(readme_adapter_class(), tmp_path, "slow", TransientDeliveryError)
    assert error.retry_after == 600.0
    assert error.reason.endswith("no pigeons left today; retry in 600 s")


@pytest.fixture
def pigeon_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The docs' adapter as a package installed beside tagcast: a module and its dist-info with the entry
    point, on the import path, found by importlib.metadata as pip would leave it."""
    guide = (REPO / "docs" / "adapters.md").read_text(encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    (site / "tagcast_pigeon.py").write_text(re.findall(r"```python\n(.*?)```", guide, re.DOTALL)[0])
    dist = site / "tagcast_pigeon-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tagcast-pigeon\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tagcast.adapters]\npigeon = tagcast_pigeon:PigeonAdapter\n")
    monkeypatch.syspath_prepend(str(site))
    installed.cache_clear()
    yield
    installed.cache_clear()
    sys.modules.pop("tagcast_pigeon", None)


@pytest.mark.usefixtures("pigeon_installed")
def test_an_installed_adapter_is_read_through_its_entry_point_like_the_built_in_ones() -> None:
    assert "pigeon" in known_networks()
    assert rules_for("pigeon").limit == 280
    assert rules_for("pigeon", limit=100).violations(" ") == [
        "empty text: pigeon refuses a post without text"
    ]
    assert secret_keys("pigeon") == ("token",)
    links = {s.text: s.href for s in segments("Hi @bob #History", "pigeon") if s.href}
    assert links == {"@bob": "https://pigeon.example/@bob", "#History": "https://pigeon.example/tags/History"}


@pytest.mark.usefixtures("pigeon_installed")
def test_an_installed_adapter_s_settings_keys_are_honoured_by_config_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The docs' adapter declares ``base_url``: a pigeon channel may set it (and its ``token``), and
    ``config validate`` warns about ``chat_id``, which it does not read."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "tagcast.toml").write_text(
        '[channels.p]\nnetwork = "pigeon"\nbase_url = "https://pigeon.example"\nchat_id = "42"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TAGCAST_CHANNELS__P__TOKEN", "s3cret")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["config", "validate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "warning: channels.p.chat_id (config/tagcast.toml:4): pigeon does not use this key (telegram does); "
        "remove it",
        "config/tagcast.toml is valid: 1 channel(s), 0 rule(s), 1 schedule(s), 1 warning(s)",
    ]
