"""Workspaces wired to loopback fakes, the outbox, and a way to run one dispatch round."""

from __future__ import annotations

import asyncio
import subprocess
import textwrap
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fakes.webhook import WebhookFake

from scheduler.config.loader import Workspace, load_workspace
from scheduler.ingest import IngestReport, ingest
from scheduler.service.dispatcher import Dispatcher, DispatchReport
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(
    channels: Mapping[str, Mapping[str, object]],
    *,
    service: Mapping[str, object] | None = None,
    timezone: str = "UTC",
    slots: tuple[str, ...] = ("daily 09:00", "daily 13:00", "daily 18:00"),
) -> str:
    """A tagcast.toml: one schedule ``main``, the given channels, every article to every channel."""
    lines = [
        "[store]",
        'url = "sqlite:///var/tagcast.db"',
        "[defaults]",
        f'timezone = "{timezone}"',
        'schedule = "main"',
        f"channels = {toml_value(list(channels))}",
        "[schedules.main]",
        f'timezone = "{timezone}"',
        f"slots = {toml_value(list(slots))}",
        "[service]",
    ]
    defaults: dict[str, object] = {"backoff_base": "1s", "backoff_max": "4s", "lease": "30s"}
    defaults.update(service or {})
    lines += [f"{key} = {toml_value(value)}" for key, value in defaults.items()]
    for name, keys in channels.items():
        lines.append(f"[channels.{name}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def article(
    title: str, *, publish_at: str | None = None, channels: list[str] | None = None, body: str = ""
) -> str:
    """A Markdown article with front matter."""
    front = [
        f"title: {title}",
        f"url: https://example.org/{title.lower().replace(' ', '-')}",
        "tags: [History]",
    ]
    if publish_at is not None:
        front.append(f"publish_at: {publish_at}")
    if channels is not None:
        front.append(f"channels: [{', '.join(channels)}]")
    text = body or f"{title}: a short summary of something that happened."
    return "---\n" + "\n".join(front) + "\n---\n\n" + text + "\n"


class Site:
    """A workspace folder: its config and posts, loaded on demand, and its outbox."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._store: Store | None = None

    def write_config(self, text: str) -> None:
        (self.root / "config").mkdir(parents=True, exist_ok=True)
        (self.root / "config" / "tagcast.toml").write_text(text, encoding="utf-8")

    def write_post(self, name: str, text: str) -> Path:
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    @property
    def workspace(self) -> Workspace:
        return load_workspace(self.root / "config" / "tagcast.toml")

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open("sqlite:///var/tagcast.db", root=self.root)
        return self._store

    def ingest(self, now: datetime) -> IngestReport:
        return ingest(self.workspace, self.store, now=now)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    site = Site(tmp_path / "ws")
    (site.root / "posts").mkdir(parents=True)
    yield site
    site.close()


@pytest.fixture
def webhook() -> Iterator[WebhookFake]:
    with WebhookFake(secret=None).running() as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def other_webhook() -> Iterator[WebhookFake]:
    with WebhookFake(secret=None).running() as fake:
        yield fake  # type: ignore[misc]


DUE = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="seconds")
"""A ``publish_at`` already due: an hour ago. (A date long past would be held back by a new outbox, and
``now`` is read when the article is loaded, a moment after a test took its clock.)"""


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The pid of a process that runs while the test does."""
    process = subprocess.Popen(["sleep", "60"])
    yield process.pid
    process.kill()
    process.wait()


def reaped_pid() -> int:
    """The pid of a process that ran and is gone."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def real_now() -> datetime:
    return datetime.now(UTC)


def dispatch(
    workspace: Workspace,
    store: Store,
    now: datetime | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    calls: StoreCalls | None = None,
) -> DispatchReport:
    """One :meth:`Dispatcher.run_due` at ``now`` (default: the real time), with a fresh HTTP client (and
    ``calls`` for the store thread, when given)."""

    async def go() -> DispatchReport:
        async with httpx.AsyncClient(timeout=5) as http:
            moment = now or real_now()
            dispatcher = Dispatcher(
                workspace,
                store,
                http,
                worker_id="test-worker",
                clock=clock or (lambda: now or real_now()),
                calls=calls,
            )
            try:
                return await dispatcher.run_due(moment)
            finally:
                dispatcher.calls.close()

    return asyncio.run(go())


def reconcile(site: Site, now: datetime) -> dict[str, str]:
    """The start-up reconciliation of a restarted worker at ``now``: the outcome of each delivery it found
    left in ``sending``, by id."""

    async def go() -> dict[str, str]:
        async with httpx.AsyncClient(timeout=5) as http:
            dispatcher = Dispatcher(
                site.workspace, site.store, http, worker_id="restarted", clock=lambda: now
            )
            try:
                return await dispatcher.reconcile_stale(now)
            finally:
                dispatcher.calls.close()

    return asyncio.run(go())
