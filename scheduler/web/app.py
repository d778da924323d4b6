"""``tagcast web``: the local dashboard as a Starlette app.

``/`` a week calendar of the outbox, ``/posts`` the preview cards, ``/deliveries/{id}`` one delivery with its
history, receipt and the operator's actions. The actions are POST forms calling the store functions the
``tagcast queue`` commands call (cancel, retry, reschedule; "send now" reschedules to now), so the dashboard
can do nothing the CLI cannot, and each change is a transition with its reason.

Store and pipeline calls are blocking; they run in Starlette's thread pool.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from scheduler import __version__
from scheduler.config.loader import Workspace
from scheduler.errors import UserError
from scheduler.media.cards import PreviewCards
from scheduler.media.prepare import MediaCache, ThumbFitter
from scheduler.pipeline import Pipeline
from scheduler.store import Delivery, DeliveryNotFound, DeliveryState, Store
from scheduler.store.models import zone_named
from scheduler.web.calendar import Week, lay_out
from scheduler.web.cards import delivery_card
from scheduler.web.entities import safe_href
from scheduler.web.preview_page import preview_page
from scheduler.web.render import render
from scheduler.web.security import Guard, cross_site_problem

PAGE_SIZE = 500
_PLANNED, _RETRYING, _FAILED = DeliveryState.PLANNED, DeliveryState.RETRYING, DeliveryState.FAILED

_ALLOWED = {
    "cancel": (DeliveryState.PLANNED, DeliveryState.RETRYING, DeliveryState.FAILED, DeliveryState.UNKNOWN),
    "retry": (DeliveryState.FAILED, DeliveryState.UNKNOWN),
    "send_now": (
        DeliveryState.PLANNED,
        DeliveryState.RETRYING,
        DeliveryState.FAILED,
        DeliveryState.CANCELLED,
    ),
    "reschedule": (
        DeliveryState.PLANNED,
        DeliveryState.RETRYING,
        DeliveryState.FAILED,
        DeliveryState.CANCELLED,
    ),
}
"""Which actions a state offers (the store checks again, and says why when the row changed meanwhile)."""

_DONE = {
    "cancel": "Cancelled: it will not be sent.",
    "retry": "Planned again now; the service sends it at its next round.",
    "send-now": "Planned for now; the service sends it at its next round.",
    "reschedule": "Rescheduled.",
}


@dataclass(frozen=True)
class Dashboard:
    """What every page needs: the workspace, its outbox, the clock and this process's CSRF token."""

    workspace: Workspace
    store: Store
    clock: Callable[[], datetime]
    csrf: str

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.workspace.settings.defaults.timezone)


def _page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, version=__version__, **context), status_code=status)


def _message(heading: str, error: UserError, status: int) -> HTMLResponse:
    return _page("message.html", status, heading=heading, message=str(error), nav="none")


def _dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


async def calendar(request: Request) -> Response:
    board = _dashboard(request)
    zone = board.zone
    today = board.clock().astimezone(zone).date()
    try:
        week = Week.parse(request.query_params["week"]) if "week" in request.query_params else None
        offset = int(request.query_params.get("offset", "0") or 0)
    except UserError as exc:
        return _message("No such week", exc, 400)
    except ValueError:
        return _message("No such page", UserError("offset must be a whole number"), 400)
    week = week or Week.containing(today)
    channel = request.query_params.get("channel") or None
    start, end = week.bounds(zone)
    entries, total = await run_in_threadpool(
        functools.partial(board.store.between, channel=channel, limit=PAGE_SIZE, offset=max(offset, 0)),
        start,
        end,
    )
    more = offset + len(entries) < total
    only = f"&channel={quote(channel)}" if channel else ""
    return _page(
        "calendar.html",
        nav="calendar",
        week=week,
        first=week.days[0],
        last=week.days[-1],
        zone=zone.key,
        days=lay_out(week, entries, zone, today),
        total=total,
        shown=len(entries),
        offset=offset,
        page_size=PAGE_SIZE,
        more_href=f"/?week={week.name}{only}&offset={offset + PAGE_SIZE}" if more else None,
        channels=sorted(board.workspace.settings.channels),
        channel=channel,
        only=only,
    )


async def posts(request: Request) -> Response:
    board = _dashboard(request)

    def build() -> str:
        moment = board.clock()
        thumbs = ThumbFitter(MediaCache.for_workspace(board.workspace))
        cards = PreviewCards(board.workspace, fit_thumb=thumbs)
        result = Pipeline(board.workspace, cards=cards).run(now=moment)
        return preview_page(
            result.posts,
            result.errors,
            board.workspace.settings.channels,
            root=board.workspace.root,
            generated=moment.astimezone(board.zone),
            standalone=False,
            nav="posts",
            warnings=result.warnings,
        )

    try:
        return HTMLResponse(await run_in_threadpool(build))
    except UserError as exc:
        return _message("The posts cannot be previewed", exc, 422)


def _delivery_page(
    board: Dashboard,
    delivery_id: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    try:
        delivery = board.store.get(delivery_id)
        history = board.store.history(delivery_id)
    except DeliveryNotFound as exc:
        return _message("No such delivery", exc, 404)
    local = delivery.local_scheduled_at
    return _page(
        "delivery.html",
        status,
        nav="calendar",
        d=delivery,
        the_card=delivery_card(delivery, board.workspace.settings.channels),
        history=history,
        zone=local.tzinfo,
        week=Week.containing(delivery.scheduled_at.astimezone(board.zone).date()).name,
        can={action: delivery.state in states for action, states in _ALLOWED.items()},
        csrf=board.csrf,
        local_value=local.strftime("%Y-%m-%dT%H:%M"),
        remote_href=safe_href(delivery.remote_url) if delivery.remote_url else None,
        receipt_json=json.dumps(delivery.receipt, indent=2, ensure_ascii=False) if delivery.receipt else None,
        notice=notice,
        error=error,
    )


async def delivery(request: Request) -> Response:
    board = _dashboard(request)
    done = _DONE.get(request.query_params.get("done", ""))
    return await run_in_threadpool(_delivery_page, board, request.path_params["id"], notice=done)


def _act(board: Dashboard, delivery_id: str, action: str, form: dict[str, str]) -> Delivery:
    """Run ``action`` through the store, as ``tagcast queue`` does."""
    store, moment = board.store, board.clock()
    if action == "cancel":
        return store.cancel(delivery_id, now=moment)
    if action == "retry":
        return store.retry(delivery_id, now=moment)
    if action == "send-now":
        return store.reschedule(delivery_id, moment, now=moment, reason="send now, asked from the dashboard")
    zone = store.get(delivery_id).local_scheduled_at.tzinfo
    try:
        at = datetime.fromisoformat(form.get("at", "").strip())
    except ValueError:
        raise UserError(
            f"{form.get('at', '')!r} is not a time", hint="give a date and time, e.g. 2027-01-12T09:30"
        ) from None
    return store.reschedule(delivery_id, at if at.tzinfo else at.replace(tzinfo=zone), now=moment)


async def act(request: Request) -> Response:
    board = _dashboard(request)
    delivery_id, action = request.path_params["id"], request.path_params["action"]
    if action not in _DONE:
        return _message("No such action", UserError(f"unknown action {action!r}"), 404)
    body = (await request.body()).decode("utf-8", "replace")
    form = {key: values[-1] for key, values in parse_qs(body).items()}
    problem = cross_site_problem(request, board.csrf, form.get("csrf"))
    if problem is not None:
        return _message("Refused", UserError(problem), 403)
    try:
        await run_in_threadpool(_act, board, delivery_id, action, form)
    except UserError as exc:
        return await run_in_threadpool(
            _delivery_page, board, delivery_id, error=str(exc).replace("\n  hint: ", "; "), status=409
        )
    return RedirectResponse(f"/deliveries/{quote(delivery_id)}?done={action}", status_code=303)


def create_app(
    workspace: Workspace,
    store: Store,
    *,
    clock: Callable[[], datetime] | None = None,
    token: str | None = None,
    loopback_only: bool = True,
) -> Starlette:
    """The dashboard over ``store``. ``loopback_only``: serve only requests addressed to a loopback host;
    ``token``: every request must bring it (see :mod:`scheduler.web.security`)."""
    app = Starlette(
        routes=[
            Route("/", calendar),
            Route("/posts", posts),
            Route("/deliveries/{id}", delivery),
            Route("/deliveries/{id}/{action}", act, methods=["POST"]),
        ],
        middleware=[Middleware(Guard, token=token, loopback_only=loopback_only)],
    )
    app.state.dashboard = Dashboard(
        workspace=workspace,
        store=store,
        clock=clock or (lambda: datetime.now(UTC)),
        csrf=secrets.token_urlsafe(32),
    )
    return app
