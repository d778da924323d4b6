"""The third-party adapter example in README.md runs as written, against a fake server over real HTTP."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
from fakes.server import FakeServer, Reply, Request, route

from scheduler.adapters.base import Adapter, Journal, Outgoing
from scheduler.config.models import ChannelSettings
from scheduler.models import Article
from tests.conftest import REPO


def readme_adapter_class() -> type[Adapter]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Writing a third-party adapter", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README section has a python example"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "README.md", "exec"), namespace)
    cls = namespace["PigeonAdapter"]
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
        key = request.headers["idempotency-key"]
        if key not in self.by_key:
            message_id = f"m{len(self.messages) + 1}"
            self.messages[message_id] = request.json()
            self.by_key[key] = message_id
        return Reply.json({"id": self.by_key[key]})

    @route("GET", "/me")
    def me(self, request: Request) -> Reply:
        return Reply.json({"name": "Pigeon Post"})


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
    assert cls.length_rules(settings).limit == 280
