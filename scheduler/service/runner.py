"""``tagcast serve``: the long-running service (or one pass of it, ``--once``, for cron).

Start-up, in this order: open the outbox and register this worker (:mod:`scheduler.service.workers`: it
beats every watch interval and is marked stopped on a clean exit); settle crash leftovers
(:class:`~scheduler.service.dispatcher.Reconciler`) and apply the misfire policy
(:mod:`scheduler.service.recovery`); ingest ``posts/``. Then either

- ``once``: dispatch everything due now, again until nothing more is due, and return 0; or
- forever: the clock (:mod:`scheduler.service.clock`) wakes the dispatcher at the next due time; every
  ``service.watch_interval`` the watcher re-ingests new and edited articles, reloads the config when
  ``config/tagcast.toml``, ``.env`` or a template changed (or on SIGHUP), settles leftovers of dead workers
  and re-arms the clock (a ``tagcast queue`` command in another process changes the queue too).

A reload validates first: an invalid config is logged with its full reason and the running one stays in
force. What happens is emitted as events to the service's :class:`~scheduler.service.monitor.Monitor`
(metrics, alerts, and with ``http`` the ``/healthz`` and ``/metrics`` endpoint); it also learns at start
whether the previous run on this host stopped cleanly (:mod:`scheduler.service.previous_run`).

SIGTERM and SIGINT stop claiming, let sends in flight finish for up to ``service.shutdown_timeout``, and
return 0; a send cut short then is reconciled at the next start, like one left by a hard kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import anyio  # httpx's own dependency: its requests run on anyio
import httpx

from scheduler.config.loader import Workspace, load_workspace
from scheduler.errors import UnknownNetwork, UserError
from scheduler.feeds.poll import PreparedPoll, commit_poll, log_poll, prepare_poll
from scheduler.ingest import IngestReport, compose_articles, ingest
from scheduler.media.send import SendPreparation
from scheduler.pipeline import Pipeline
from scheduler.recycling import RECYCLE_EVERY, recycle, recycles, recycling_plan
from scheduler.render.budget import RenderCancelled
from scheduler.service.clock import Clock
from scheduler.service.dispatcher import Dispatcher, DispatchReport, utc_now
from scheduler.service.endpoint import Address
from scheduler.service.event_loop import loop_factory, running_loop_name
from scheduler.service.events import SourcePollFailed
from scheduler.service.monitor import Monitor
from scheduler.service.outcomes import Outcome
from scheduler.service.previous_run import ended_here, previous_run
from scheduler.service.recovery import apply_misfire_policy
from scheduler.service.retry import human
from scheduler.service.storecalls import StoreCalls
from scheduler.service.token_watch import TOKEN_CHECK_EVERY, watch_tokens
from scheduler.service.watch import FilesWatch, FolderWatch
from scheduler.service.workers import PRUNE_EVERY, WorkerRegistry, silence_limit
from scheduler.store import Store, UpsertOutcome
from scheduler.validation import workspace_warnings

log = logging.getLogger("tagcast.service")

CLAIM_LEAD = timedelta(milliseconds=20)
"""The clock wakes the dispatcher this long before a post's due instant: its claim is committed (a disk flush)
by then, and it is published at the instant itself (:class:`~scheduler.service.dispatcher.Dispatcher`)."""
IDLE_REARM = timedelta(seconds=1)
"""After a round that claimed nothing while something was due, the next wake-up is this far away (no busy
loop)."""


def keep_collector_off_start_up() -> None:
    """Move what start-up built (modules, config, adapters: it lives as long as the process) out of the
    garbage collector's reach, so that its collections, triggered by what every post allocates, scan only
    what was made since. What start-up left as garbage is collected first."""
    gc.collect()
    gc.freeze()


async def load_network_stack() -> None:
    """Load what httpx's first request would otherwise load: its async backend (anyio, 20-50 ms of imports).
    Done at start-up, so that the first post after a start does not go out that much late."""
    await anyio.sleep(0)  # the first call loads anyio's asyncio backend


def new_worker_id() -> str:
    """``host-pid-random``: names this process in claims, so a takeover says whose lease ran out."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def warn_about_config(workspace: Workspace) -> None:
    """Log what ``tagcast config validate`` warns about (a channel key its network does not use): a typo in a
    key is otherwise silent in a service nobody watches."""
    for warning in workspace_warnings(workspace):
        log.warning("config: %s", warning, extra={"event": "config.warning"})


def serve(
    workspace: Workspace,
    *,
    once: bool,
    exit_after_start: bool = False,
    on_open: Callable[[Store], None] | None = None,
    http: Address | None = None,
) -> int:
    """Run the service for ``workspace`` (see the module docstring); the exit code (0).

    ``on_open`` is called with the opened outbox before anything else (the CLI prints its banner); ``http``
    is where to serve ``/healthz`` and ``/metrics`` (None: nowhere).
    """
    store = Store.open(workspace.settings.store.url, root=workspace.root)
    try:
        if on_open is not None:
            on_open(store)
        service = Service(workspace, store, http=http)
        with asyncio.Runner(loop_factory=loop_factory(workspace.settings.service.event_loop)) as runner:
            return runner.run(service.run(once=once, exit_after_start=exit_after_start))
    finally:
        store.close()


class Service:
    """One worker: the dispatcher, its clock, the watchers and the signal handling around them."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        *,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        http: Address | None = None,
    ) -> None:
        self.workspace = workspace
        self.store = store
        self.worker_id = worker_id or new_worker_id()
        self.now = clock
        self.monitor = Monitor(workspace, store, worker_id=self.worker_id, http=http, clock=clock)
        self._once_mode = False
        self._render_stop = threading.Event()
        self.pipeline = Pipeline(workspace, stop=self._render_stop)
        self.calls = StoreCalls(store.one_transaction, pinned=store.pinned)
        self.registry = WorkerRegistry(store, self.calls, self.worker_id, clock=clock)
        self._stop = asyncio.Event()
        self._reload_asked = False
        self._clock: Clock | None = None
        self._dispatcher: Dispatcher | None = None
        self._round: asyncio.Task[DispatchReport] | None = None
        self._http: httpx.AsyncClient | None = None
        self._posts = FolderWatch(self._posts_folder())
        self._config = self._config_watch()
        self._polling: asyncio.Task[None] | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------

    async def run(self, *, once: bool, exit_after_start: bool = False) -> int:
        self._stop = asyncio.Event()
        self._render_stop.clear()
        service = self.workspace.settings.service
        http = self._http = httpx.AsyncClient(timeout=service.request_timeout.total_seconds())
        pages = httpx.AsyncClient(follow_redirects=True)  # link pages: bounded by the link card rules
        self._dispatcher = Dispatcher(
            self.workspace,
            self.store,
            http,
            worker_id=self.worker_id,
            clock=self.now,
            calls=self.calls,
            sends=self.monitor.sends,
            events=self.monitor.bus,
            lead=CLAIM_LEAD,
            prepare=SendPreparation(
                lambda: self.workspace, store=self.store, pages=pages, call=self.calls, clock=self.now
            ),
        )
        self._once_mode = once
        self._install_signals()
        try:
            await self.monitor.start(self.clock_problem)
            await self._start_up()
            if exit_after_start:
                return 0
            keep_collector_off_start_up()
            work = asyncio.create_task(self._once() if once else self._forever(), name="tagcast-work")
            stop = asyncio.create_task(self._stop.wait(), name="tagcast-stop")
            await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not work.done():
                await self._shut_down(work)
            elif work.exception() is not None:
                raise work.exception()  # type: ignore[misc]
            return 0
        finally:
            self._render_stop.set()
            if self._polling is not None:
                self._polling.cancel()
                await asyncio.gather(self._polling, return_exceptions=True)
            self._remove_signals()
            if self._clock is not None:
                await self._clock.shutdown()
            await self.monitor.stop()
            await http.aclose()
            await pages.aclose()
            try:
                await self.registry.stop()
            except Exception:
                log.exception("could not record that worker %s stopped", self.worker_id)
            self.calls.close()

    async def _start_up(self) -> None:
        await load_network_stack()
        warn_about_config(self.workspace)
        now = self.now()
        previous = await self.calls(previous_run, self.store, host=self.registry.host, pid=self.registry.pid)
        await self.registry.start()
        # also at start: with `serve --once` from cron there is no housekeeping tick to prune the workers
        await self.registry.run_once_cluster_wide("prune-workers", PRUNE_EVERY, self.registry.prune)
        leftovers = await self._settle_leftovers(now)
        self.monitor.started(previous, leftovers, now)
        silence = silence_limit(self.workspace.settings.service.watch_interval)
        others = await self.registry.others_alive(silence)
        if others:
            log.info(
                "workers %s are alive: the cluster was not down, so late posts are their backlog",
                ", ".join(others),
            )
        else:
            await self._apply_misfire_policy(now)
        await self._watch_and_ingest()

    async def _settle_leftovers(self, now: datetime) -> dict[str, Outcome]:
        """Reconcile what stopped workers left in ``sending`` (the dispatcher's Reconciler): when their
        lease runs out, or at once for a worker of this machine whose process is gone (one outbox file: it
        surely died; elsewhere a pid tells nothing). Delivery id -> the state it was left in."""
        if self.store.one_machine:
            here = await self.calls(ended_here, self.store, host=self.registry.host, pid=self.registry.pid)
            gone = [w.id for w in here if w.id != self.worker_id and w.holding]
            if gone:
                ended = await self.calls(self.store.end_leases_of, gone, now=now)
                log.warning(
                    "worker(s) %s of this host are gone: their %d delivery(ies) in sending are reconciled "
                    "now, without waiting for their leases to end",
                    ", ".join(gone),
                    ended,
                )
        settled = await self._require_dispatcher().reconcile_stale(now)
        if settled:
            log.warning("settled %d delivery(ies) left in sending by a stopped worker", len(settled))
        return settled

    async def _apply_misfire_policy(self, now: datetime) -> None:
        """Posts missed while the whole service was down: late within the grace, else re-slotted."""
        misfire = await self.calls(
            apply_misfire_policy, self.store, self.pipeline, self.workspace.settings, now=now
        )
        await self.monitor.misfired(misfire.late, misfire.moved, self.calls, now)
        if misfire.late or misfire.moved:
            log.warning(
                "after downtime: %d post(s) go out late (within service.misfire_grace = %s), "
                "%d moved to their channel's next free slot",
                len(misfire.late),
                human(self.workspace.settings.service.misfire_grace),
                len(misfire.moved),
            )

    async def _watch_and_ingest(self) -> None:
        self._posts = FolderWatch(self._posts_folder())
        self._config = self._config_watch()
        await self._ingest(self._posts.files, full=True)
        due = await self.calls(self.store.next_due, self.now())
        log.info(
            "ready: worker %s, next delivery due %s, event loop %s",
            self.worker_id,
            due.isoformat() if due else "(none queued)",
            running_loop_name(),
        )

    async def _once(self) -> None:
        """Poll the sources whose interval is up, look at the tokens once a day, then dispatch until nothing
        more is due now."""
        await self._poll_sources()
        await self._tokens_due()
        dispatcher = self._require_dispatcher()
        total = DispatchReport()
        while not self._stop.is_set():
            self._round = asyncio.create_task(dispatcher.run_due(self.now()), name="tagcast-round")
            report = await asyncio.shield(self._round)
            total.outcomes.update(report.outcomes)
            if report.claimed == 0:
                break
        log.info("done: %s", total)

    async def _forever(self) -> None:
        clock = Clock(watch_interval=self.workspace.settings.service.watch_interval)
        self._clock = clock
        clock.start()
        clock.wake_now()
        self.monitor.arm_digest(clock, self.registry.run_once_cluster_wide)
        tasks = [
            asyncio.create_task(self._dispatch_loop(clock), name="tagcast-dispatch"),
            asyncio.create_task(self._watch_loop(clock), name="tagcast-watch"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _shut_down(self, work: asyncio.Task[None]) -> None:
        dispatcher = self._require_dispatcher()
        dispatcher.stop_claiming()
        timeout = self.workspace.settings.service.shutdown_timeout.total_seconds()
        log.info(
            "stopping: no new claims; waiting up to %s for sends in flight",
            human(self.workspace.settings.service.shutdown_timeout),
        )
        round_task = self._round
        if round_task is not None and not round_task.done():
            done, _ = await asyncio.wait({round_task}, timeout=timeout)
            if not done:
                log.warning(
                    "sends still in flight after %s: interrupting them",
                    human(self.workspace.settings.service.shutdown_timeout),
                )
                round_task.cancel()
                await asyncio.gather(round_task, return_exceptions=True)
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        log.info("stopped")

    # --- the two loops -------------------------------------------------------------------------------------

    async def _dispatch_loop(self, clock: Clock) -> None:
        dispatcher = self._require_dispatcher()
        while not self._stop.is_set():
            await clock.dispatch_due.wait()
            clock.dispatch_due.clear()
            started = self.now()
            self._round = asyncio.create_task(dispatcher.run_due(started), name="tagcast-round")
            report = await asyncio.shield(self._round)
            if report.claimed:
                log.info("round: %s", report)
            await self._rearm(clock, idle=report.claimed == 0)

    async def _watch_loop(self, clock: Clock) -> None:
        while not self._stop.is_set():
            await clock.watch_due.wait()
            clock.watch_due.clear()
            try:
                await self._housekeeping(clock)
            except Exception:
                log.exception(
                    "housekeeping failed; trying again in %s",
                    human(self.workspace.settings.service.watch_interval),
                )

    async def _housekeeping(self, clock: Clock) -> None:
        await self.registry.beat()
        await self.registry.run_once_cluster_wide("prune-workers", PRUNE_EVERY, self.registry.prune)
        if self._reload_asked or self._config.changed():
            self._reload_asked = False
            await self.reload()
        else:
            changed = self._posts.changes()
            if changed:
                await self._ingest(changed, full=False)
        await self._settle_leftovers(self.now())
        await self._tokens_due()
        if (self.workspace.settings.sources or recycles(self.workspace.settings)) and (
            self._polling is None or self._polling.done()
        ):
            self._polling = asyncio.create_task(self._poll_sources(), name="tagcast-sources")
        await self._rearm(clock, idle=False)

    async def _tokens_due(self) -> None:
        """Once a day across the cluster: :meth:`_watch_tokens`; a failure is logged."""
        try:
            await self.registry.run_once_cluster_wide("tokens", TOKEN_CHECK_EVERY, self._watch_tokens)
        except Exception:
            log.exception("could not check when the channels' tokens expire")

    async def _watch_tokens(self) -> None:
        """Record when each enabled channel's token expires; alert once about one due that tagcast cannot
        refresh (:mod:`scheduler.service.token_watch`)."""
        cache = self._require_dispatcher().adapters
        adapters = {}
        for name, channel in self.workspace.settings.channels.items():
            if channel.enabled:
                try:
                    adapters[name] = cache.adapter(name, channel)
                except UnknownNetwork:
                    continue
        await watch_tokens(
            adapters,
            self.store,
            self.calls,
            self.monitor.bus.emit,
            now=self.now(),
            warning=self.workspace.settings.alerts.token_warning,
        )

    async def _rearm(self, clock: Clock, *, idle: bool) -> None:
        """Wake the dispatcher at the next due instant; after a round that claimed nothing although something
        was due (claimed meanwhile by another worker), not before :data:`IDLE_REARM`."""
        now = self.now()
        due = await self.calls(self.store.next_due, now)
        if due is not None and idle and due <= now + CLAIM_LEAD:
            due = now + IDLE_REARM
        clock.arm(due - CLAIM_LEAD if due is not None else None)

    # --- feeds ([sources.NAME]) ----------------------------------------------------------------------------

    async def _poll_sources(self) -> None:
        """Poll each source whose ``interval`` is up (once across the cluster). The fetch and the rendering
        run on a thread of their own and only the queueing on the store thread, so a slow or huge feed never
        holds up delivery; a failed poll is logged and recorded for ``status --check``."""
        for name, source in self.workspace.settings.sources.items():
            try:
                await self.registry.run_once_cluster_wide(
                    f"source:{name}", source.interval, functools.partial(self._poll_source, name)
                )
            except RenderCancelled:
                return
            except Exception:
                log.exception("source %s: poll failed", name)
        if recycles(self.workspace.settings):
            try:
                await self.registry.run_once_cluster_wide("recycle", RECYCLE_EVERY, self._recycle)
            except RenderCancelled:
                return
            except Exception:
                log.exception("recycling failed")

    async def _recycle(self) -> None:
        """Queue evergreen re-shares (:mod:`scheduler.recycling`): chosen and rendered on a thread of their
        own, queued on the store thread."""
        workspace, pipeline, now = self.workspace, self.pipeline, self.now()
        planned = await asyncio.to_thread(recycling_plan, pipeline, self.store, now=now)
        if not planned:
            return
        report = await self.calls(recycle, workspace, self.store, pipeline, now=now, planned=planned)
        self._log_ingest(report, full=False)

    async def _poll_source(self, name: str) -> None:
        workspace, pipeline = self.workspace, self.pipeline

        def prepare() -> PreparedPoll:
            with httpx.Client() as client:
                return prepare_poll(name, workspace, self.store, pipeline, client)

        prepared = await asyncio.to_thread(prepare)
        result = await self.calls(commit_poll, prepared, workspace, self.store, pipeline, now=self.now())
        log_poll(result)
        if result.newly_failing and result.error is not None:
            self.monitor.bus.emit(SourcePollFailed(at=self.now(), source=name, reason=result.error))
        if self._clock is not None:
            self._clock.wake_now()

    # --- posts and config ----------------------------------------------------------------------------------

    def _posts_folder(self) -> Path:
        return self.workspace.path(self.workspace.settings.defaults.posts)

    def _config_watch(self) -> FilesWatch:
        return FilesWatch(
            [self.workspace.config_path, self.workspace.root / ".env"],
            [self.workspace.path(self.workspace.settings.defaults.templates)],
        )

    async def _ingest(self, paths: Sequence[Path], *, full: bool) -> None:
        """Queue new and edited articles (``full``: every article of posts/, after start or a reload).

        Articles are read and rendered on a thread of their own (each post within its render budget), and
        only then queued on the store thread, so a slow template never holds up delivery; a stop request
        ends the rendering at once.
        """
        if not paths:
            return
        pipeline = self.pipeline
        log.info("reading %d article file(s) of posts/", len(paths))
        try:
            prepared = await asyncio.to_thread(compose_articles, pipeline, list(paths))
        except RenderCancelled:
            log.info("stopping: reading posts/ interrupted; it is done again at the next start")
            return
        report = await self.calls(
            ingest,
            self.workspace,
            self.store,
            list(paths),
            now=self.now(),
            pipeline=pipeline,
            prepared=prepared,
        )
        self._log_ingest(report, full=full)
        if self._clock is not None:
            self._clock.wake_now()

    @staticmethod
    def _log_ingest(report: IngestReport, *, full: bool) -> None:
        for error in report.errors:
            log.warning("article skipped: %s", error)
        for item in report.items:
            if item.outcome is UpsertOutcome.UNCHANGED:
                continue
            delivery = item.delivery
            ident = f"{delivery.id} " if delivery is not None else ""
            detail = f": {item.detail}" if item.detail else ""
            if item.post.problems or item.outcome.value in ("in-flight", "already-sent", "duplicate"):
                level = logging.WARNING
            elif not item.post.active:
                level = logging.DEBUG
            else:
                level = logging.INFO
            fields = {
                "event": f"ingest.{item.outcome.value}",
                "delivery_id": delivery.id if delivery is not None else None,
                "channel": item.channel,
                "source": item.source,
            }
            log.log(
                level,
                "%s[%s] %s: %s%s",
                ident,
                item.channel,
                item.source,
                item.outcome.value,
                detail,
                extra=fields,
            )
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.counts().items())) or "no posts"
        log.info("%s posts/: %s", "ingested" if full else "re-ingested edits in", counts)
        held_back = report.held_back_note()
        if held_back:
            log.warning("%s", held_back, extra={"event": "ingest.held_back"})

    async def reload(self) -> bool:
        """Load and validate the config again; swap it in when valid (True), else keep the running one."""
        try:
            workspace = await asyncio.to_thread(load_workspace, self.workspace.config_path)
            pipeline = await asyncio.to_thread(functools.partial(Pipeline, workspace, stop=self._render_stop))
        except UserError as exc:
            log.error(
                "config reload refused; the running config stays in force:\n%s",
                exc,
                extra={"event": "config.reload_refused"},
            )
            self.monitor.reload_refused(str(exc), str(self.workspace.config_path))
            return False
        old = self.workspace
        if workspace.settings.store.url != old.settings.store.url:
            log.warning("store.url changed: the service keeps using the open outbox until it is restarted")
        if workspace.settings.service.event_loop != old.settings.service.event_loop:
            loop = running_loop_name()
            log.warning("service.event_loop changed: the service runs on %s until it is restarted", loop)
        self.workspace, self.pipeline = workspace, pipeline
        self._require_dispatcher().reload(workspace)
        service = workspace.settings.service
        if self._http is not None:
            self._http.timeout = httpx.Timeout(service.request_timeout.total_seconds())
        self.monitor.reload(workspace)
        if self._clock is not None:
            self._clock.set_watch_interval(service.watch_interval)
            self.monitor.arm_digest(self._clock, self.registry.run_once_cluster_wide)
        self._config = self._config_watch()
        self._posts = FolderWatch(self._posts_folder())
        log.info("config reloaded from %s", workspace.config_path)
        warn_about_config(workspace)
        await self._ingest(self._posts.files, full=True)
        return True

    def clock_problem(self) -> str | None:
        """For ``/healthz``: None while the clock runs (or with ``--once``, which has none), else why not."""
        if self._once_mode:
            return None
        if self._clock is None:
            return "starting up: the clock is not running yet"
        return self._clock.problem()

    # --- signals -------------------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """What SIGTERM and SIGINT do: stop claiming and let sends in flight finish."""
        if not self._stop.is_set():
            log.info("stop requested")
        self._stop.set()
        self._render_stop.set()

    def request_reload(self) -> None:
        """What SIGHUP does: reload the config at the next look (now)."""
        self._reload_asked = True
        if self._clock is not None:
            self._clock.watch_due.set()

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self.request_stop)
            loop.add_signal_handler(signal.SIGINT, self.request_stop)
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    def _require_dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("the service is not running")
        return self._dispatcher
