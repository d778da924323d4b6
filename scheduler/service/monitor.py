"""What watches the service for a person: events, metrics, alerts, the digest and the HTTP endpoint.

One :class:`Monitor` per :class:`~scheduler.service.runner.Service`. The service gives its dispatcher the
monitor's event bus and reports what it finds at start-up and on reload; the monitor turns that into
metrics (:mod:`scheduler.service.metrics`), alerts (:mod:`scheduler.alerts`) and, with ``--http``,
``/healthz`` and ``/metrics`` (:mod:`scheduler.service.endpoint`, :mod:`scheduler.service.health`; the
dispatcher's health is judged by the service's clock, ``clock``)::

    monitor = Monitor(workspace, store, worker_id="host-1234-ab12", http=Address.parse("127.0.0.1:9464"))
    await monitor.start(clock_problem=lambda: None)
    dispatcher = Dispatcher(workspace, store, http, worker_id=..., events=monitor.bus)
    ...
    await monitor.stop()

Nothing here may fail a delivery: subscribers never raise into the emitter, alerts run in their own task,
and the endpoint answers from the same loop without touching the dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from scheduler.alerts.alerter import Alerter
from scheduler.alerts.digest import build_digest
from scheduler.alerts.sender import AlertSender
from scheduler.config.alerts import AlertEvent
from scheduler.config.loader import Workspace
from scheduler.config.redact import Redactor
from scheduler.errors import UserError
from scheduler.service.clock import Clock
from scheduler.service.endpoint import Address, Endpoint, Response
from scheduler.service.events import (
    ConfigReloadRefused,
    EventBus,
    ServiceStarted,
    SlotMissed,
)
from scheduler.service.health import SendWatch, check_health
from scheduler.service.logs import redact_secrets_of
from scheduler.service.metrics import CONTENT_TYPE, Metrics
from scheduler.service.previous_run import PreviousRun
from scheduler.service.storecalls import StoreCalls
from scheduler.store import Store

log = logging.getLogger("tagcast.service")

DIGEST_JOB = "alerts-digest"
DIGEST_PERIOD = timedelta(hours=20)
"""At most one digest per this period across all workers."""
SCRAPE_TIMEOUT = 2.0
ALERT_DRAIN = 10.0
"""On shutdown, seconds to send the alerts still grouped."""

ClusterOnce = Callable[[str, timedelta, Callable[[], Awaitable[object]]], Awaitable[bool]]
""":meth:`scheduler.service.workers.WorkerRegistry.run_once_cluster_wide`."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Monitor:
    """The service's events, metrics, alerts and HTTP endpoint (see the module docstring)."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        *,
        worker_id: str,
        http: Address | None = None,
        host: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.workspace = workspace
        self.now = clock
        """The service's clock: ``/healthz`` judges a stalled dispatcher by it."""
        self.sends = SendWatch(clock)
        """The sends in flight (the dispatcher reports them): ``/healthz`` names one that runs too long."""
        self.started_at: datetime | None = None
        """When :meth:`start` ran, by ``clock``: a stall is counted from then at the earliest."""
        self.store = store
        self.worker_id = worker_id
        self.address = http
        self.host = host or socket.gethostname()
        self.bus = EventBus()
        self.metrics = Metrics(lambda: self.workspace.settings.channels)
        self.bus.subscribe(self.metrics.observe)
        self.redactor = Redactor.from_settings(workspace.settings)
        self.alerter: Alerter | None = None
        self.bound: Address | None = None
        """Where ``/healthz`` and ``/metrics`` are served (the real port when 0 was asked)."""
        self._clock_problem: Callable[[], str | None] = lambda: "starting up: the clock is not running yet"
        self._client: httpx.AsyncClient | None = None
        self._endpoint: Endpoint | None = None
        self._digest: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def start(self, clock_problem: Callable[[], str | None]) -> None:
        """Start the alerts task and, with an address, the HTTP endpoint (UserError when it cannot
        listen)."""
        self._clock_problem = clock_problem
        self.started_at = self.now()
        redact_secrets_of(self.workspace.settings)
        settings = self.workspace.settings
        self._client = httpx.AsyncClient(timeout=settings.alerts.send_timeout.total_seconds())
        sender = AlertSender(settings, self.workspace.root, self._client)
        self.alerter = Alerter(settings, sender, host=self.host, tally=self.metrics.count_alert)
        self.bus.subscribe(self.alerter.offer)
        self.alerter.start()
        if self.address is not None:
            await self._serve_http(self.address)

    async def _serve_http(self, address: Address) -> None:
        endpoint = Endpoint({"/healthz": self._healthz, "/metrics": self._metrics})
        try:
            self.bound = await endpoint.start(address)
        except OSError as exc:
            raise UserError(
                f"--http {address.host}:{address.port}: cannot listen there: {exc.strerror or exc}",
                hint="pick a free port (or 0 for any), on an address of this machine",
            ) from None
        self._endpoint = endpoint
        if not self.bound.loopback:
            log.warning(
                "http: /healthz and /metrics are reachable from other machines on %s (--http %s)",
                self.bound.url,
                address.host,
            )
        log.info("http: serving /healthz and /metrics on %s", self.bound.url, extra={"event": "http.ready"})

    async def stop(self) -> None:
        """Send the alerts still grouped (bounded), stop the digest and the endpoint."""
        if self._digest is not None:
            self._digest.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._digest
            self._digest = None
        if self.alerter is not None:
            await self.alerter.close(ALERT_DRAIN)
        if self._endpoint is not None:
            await self._endpoint.close()
            self._endpoint = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reload(self, workspace: Workspace) -> None:
        """Use a reloaded config: alert settings, and the secrets to mask everywhere."""
        self.workspace = workspace
        self.redactor = Redactor.from_settings(workspace.settings)
        redact_secrets_of(workspace.settings)
        if self.alerter is not None:
            self.alerter.reload(workspace.settings)

    # --- HTTP ----------------------------------------------------------------------------------------------

    async def _healthz(self) -> Response:
        health = await check_health(
            self.store,
            worker=self.worker_id,
            clock_problem=self._clock_problem,
            now=self.now(),
            stall_after=self.workspace.settings.service.stall_after,
            since=self.started_at,
            sends=self.sends,
        )
        body = self.redactor(health.to_json()) + "\n"
        return Response(health.status, body.encode(), "application/json")

    async def _metrics(self) -> Response:
        await self.metrics.refresh(self.store, timeout=SCRAPE_TIMEOUT)
        body = self.redactor(self.metrics.render().decode("utf-8"))
        return Response(200, body.encode("utf-8"), CONTENT_TYPE)

    # --- the daily digest ----------------------------------------------------------------------------------

    def arm_digest(self, clock: Clock, once: ClusterOnce) -> None:
        """Schedule ``[alerts.digest]`` on ``clock`` (again after a reload); sent by one worker a day."""
        if self._digest is not None:
            self._digest.cancel()
            self._digest = None
        settings = self.workspace.settings.alerts
        digest = settings.digest
        if digest is None or not settings.channels:
            clock.remove(DIGEST_JOB)
            return
        fired = clock.add_daily(DIGEST_JOB, digest.time_of_day, digest.timezone)
        self._digest = asyncio.create_task(self._digests(fired, once), name="tagcast-digest")
        log.info("alerts: daily digest at %s %s", digest.at, digest.timezone)

    async def _digests(self, fired: asyncio.Event, once: ClusterOnce) -> None:
        while True:
            await fired.wait()
            fired.clear()
            try:
                await once(DIGEST_JOB, DIGEST_PERIOD, self.send_digest)
            except Exception:
                log.exception("alerts: the daily digest failed")

    async def send_digest(self) -> bool:
        """Write the digest of the last 24 hours and send it through the alert channels now."""
        digest = self.workspace.settings.alerts.digest
        zone = ZoneInfo(digest.timezone if digest is not None else "UTC")
        now = _utc_now()
        text = await asyncio.to_thread(build_digest, self.store, now=now, zone=zone, host=self.host)
        if self.alerter is None:
            return False
        return await self.alerter.send_now(text, salt=f"digest {now.isoformat()}")

    # --- what the service reports --------------------------------------------------------------------------

    def started(self, previous: PreviousRun | None, leftovers: Mapping[str, str], now: datetime) -> None:
        """This worker started; ``previous`` is the last run on this host (see
        :mod:`scheduler.service.previous_run`), ``leftovers`` what reconciling found in ``sending``."""
        crashed = previous is not None and not previous.stopped_cleanly
        event = ServiceStarted(
            at=now,
            worker_id=self.worker_id,
            after_crash=crashed,
            previous_worker=previous.worker_id if previous else None,
            last_seen=previous.last_seen if previous else None,
            leftovers=len(leftovers),
        )
        if crashed and previous is not None:
            log.warning(
                "started after a crash: the previous run on this host (%s, last heartbeat %s) did not stop "
                "cleanly",
                previous.worker_id,
                previous.last_seen.isoformat(timespec="seconds"),
                extra=event.fields(),
            )
        self.bus.emit(event)

    async def misfired(
        self, late: dict[str, timedelta], moved: dict[str, datetime], calls: StoreCalls, now: datetime
    ) -> None:
        """Report the posts whose slot passed during downtime (``late``: sent late; ``moved``: re-slotted).

        Only alerts use these events, and naming each post takes a look-up: they are emitted only when
        ``missed_slot`` alerts are on (after a long downtime there may be thousands)."""
        if not (late or moved) or not self.workspace.settings.alerts.reports(AlertEvent.MISSED_SLOT):
            return
        found = await calls(self.store.get_many, [*late, *moved])
        for delivery_id, delivery in found.items():
            missed_by, moved_to = late.get(delivery_id), moved.get(delivery_id)
            self.bus.emit(SlotMissed.of(delivery, at=now, missed_by=missed_by, moved_to=moved_to))

    def reload_refused(self, reason: str, config: str) -> None:
        self.bus.emit(ConfigReloadRefused(at=_utc_now(), reason=reason, config=config))
