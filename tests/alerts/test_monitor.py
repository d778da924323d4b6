"""What the service reports through its monitor at start-up and on reload becomes alerts: posts that missed
their slot, deliveries left ``unknown`` by reconciling, a start after a crash, a refused reload."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from store.store_support import make_post

from scheduler.config.loader import Workspace
from scheduler.service.events import DeliveryUnknown
from scheduler.service.monitor import Monitor
from scheduler.service.previous_run import PreviousRun
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Store

from .conftest import alerts_table, workspace_with

CONFIG = (
    '[channels.masto]\nnetwork = "mastodon"\nbase_url = "https://m.example"\n'
    '[channels.ops]\nnetwork = "file"\n'
)


def alerts_written(workspace: Workspace) -> list[str]:
    folder = workspace.root / "var" / "outbox" / "ops"
    return sorted(path.read_text(encoding="utf-8") for path in folder.glob("alert-*.txt"))


def run_monitor(
    workspace: Workspace, store: Store, body: Callable[[Monitor, StoreCalls], Awaitable[None]]
) -> None:
    async def go() -> None:
        monitor = Monitor(workspace, store, worker_id="w2", host="box")
        calls = StoreCalls()
        await monitor.start(lambda: None)
        try:
            await body(monitor, calls)
        finally:
            await monitor.stop()  # sends what is grouped
            calls.close()

    asyncio.run(go())


def test_start_up_findings_become_one_alert_per_channel_and_one_for_the_service(tmp_path: Path) -> None:
    workspace = workspace_with(tmp_path / "ws", CONFIG + alerts_table(["ops"], group_window="1h"))
    now = datetime.now(UTC)
    with Store.open("sqlite:///var/tagcast.db", root=workspace.root) as store:
        ids = []
        for source in ("posts/a.md", "posts/b.md", "posts/c.md"):
            result = store.upsert_result(make_post(source, "masto", at=now - timedelta(hours=2)), now=now)
            assert result.delivery is not None
            ids.append(result.delivery.id)
        [claimed] = store.claim_due(now, worker="w1", lease=timedelta(minutes=5), limit=1)
        store.mark_unknown(claimed.id, reason="after an interrupted send: the answer was lost", now=now)
        late, moved = [i for i in ids if i != claimed.id]
        assert store.get_many([late, "d_nope", moved, late]).keys() == {late, moved}

        async def body(monitor: Monitor, calls: StoreCalls) -> None:
            crashed = PreviousRun(
                "w1", now - timedelta(hours=3), now - timedelta(hours=2), stopped_cleanly=False
            )
            monitor.started(crashed, {claimed.id: "unknown"}, now)
            monitor.bus.emit(DeliveryUnknown.of(store.get(claimed.id), at=now, reason="the answer was lost"))
            await monitor.misfired(
                {late: timedelta(minutes=12)}, {moved: now + timedelta(days=1)}, calls, now
            )
            monitor.reload_refused("config/tagcast.toml has 1 invalid value(s)", "config/tagcast.toml")

        run_monitor(workspace, store, body)
    masto, service = alerts_written(workspace)  # sorted: 'channel "masto"' < 'the service'
    assert "the service needs a person (2 problems)" in service
    assert "started after a crash: the previous run (w1, last seen" in service
    assert "1 delivery(ies) it left in sending were reconciled" in service
    assert "config reload refused" in service and "run: tagcast config validate" in service
    assert 'channel "masto" needs a person (3 problems)' in masto
    assert f"unknown: {claimed.id} ({claimed.source}) may or may not be out" in masto
    assert f"run: tagcast queue resolve {claimed.id} --sent URL" in masto
    assert f"missed its slot by 12m while the service was down: {late}" in masto
    assert f"{moved} (posts/" in masto and "moved to " in masto


def test_missed_slots_are_not_looked_up_unless_they_are_alerted(tmp_path: Path) -> None:
    alerts = alerts_table(["ops"], group_window="1h", events=["failed"])
    workspace = workspace_with(tmp_path / "ws", CONFIG + alerts)
    with Store.open("sqlite:///var/tagcast.db", root=workspace.root) as store:
        heard: list[object] = []

        async def body(monitor: Monitor, calls: StoreCalls) -> None:
            monitor.bus.subscribe(heard.append)
            await monitor.misfired({"d_gone": timedelta(minutes=5)}, {}, calls, datetime.now(UTC))

        run_monitor(workspace, store, body)
    assert heard == [] and alerts_written(workspace) == []
