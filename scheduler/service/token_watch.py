"""Tokens that expire and that tagcast cannot refresh: found ``[alerts] token_warning`` before they do.

Once a day (across the cluster) ``tagcast serve`` asks each enabled channel's adapter when its token expires
(:meth:`~scheduler.adapters.base.Adapter.token_expiry_state`: Facebook's ``debug_token``, LinkedIn's
introspection, the ``expires_in`` of a refresh) and records it in the outbox; ``tagcast channels test``
records what it learns too. A token tagcast cannot refresh that expires within ``token_warning`` (or has
expired) is a ``tagcast status --check`` problem and a ``token_expiring`` alert, raised once per expiry; a
token tagcast refreshes is reported only once it has expired (its refresh failed)::

    await watch_tokens(adapters, store, calls, bus.emit, now=now, warning=timedelta(days=7))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, Protocol, TypeVar

from scheduler.adapters.base import Adapter
from scheduler.adapters.tokens import TokenExpiry, describe_expiry
from scheduler.config.credentials import secret_env_var
from scheduler.errors import DeliveryError
from scheduler.service.events import Event, TokenExpiring
from scheduler.store import Store
from scheduler.store.token_ops import TokenState

log = logging.getLogger("tagcast.tokens")

TOKEN_CHECK_EVERY = timedelta(days=1)
"""How often ``tagcast serve`` asks the adapters when their tokens expire."""

P = ParamSpec("P")
R = TypeVar("R")


class Calls(Protocol):
    async def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...


def token_problem(state: TokenState, *, now: datetime, warning: timedelta) -> str | None:
    """The line about ``state`` for ``status --check`` and the alert, or ``None`` when it is not due yet."""
    channel = state.channel
    expiry = describe_expiry(state.expires_at.timestamp(), now=now.timestamp())
    renew = (
        f"create a new token and put it in the file named by channels.{channel}.token_file "
        f"(or in {secret_env_var(channel, 'token')}), then run `tagcast channels test {channel}`"
    )
    if state.refreshable:
        if state.expires_at > now:
            return None
        return f"channel {channel}: {expiry} and tagcast could not refresh it (see the log): {renew}"
    if state.expires_at - now > warning:
        return None
    return f"channel {channel}: {expiry} and tagcast cannot refresh it: {renew}"


def token_problems(
    states: list[TokenState], *, now: datetime, warning: timedelta, channels: Collection[str] | None = None
) -> list[tuple[TokenState, str]]:
    """The due ones of ``states`` with their lines (of channels still in ``channels``, when given)."""
    found = []
    for state in states:
        if channels is not None and state.channel not in channels:
            continue
        problem = token_problem(state, now=now, warning=warning)
        if problem is not None:
            found.append((state, problem))
    return found


def record(store: Store, channel: str, token: TokenExpiry, *, now: datetime) -> None:
    """Keep what an adapter learned of ``channel``'s token."""
    expires_at = None if token.expires_at is None else datetime.fromtimestamp(token.expires_at, UTC)
    store.record_token_expiry(channel, expires_at, refreshable=token.refreshable, now=now)


async def watch_tokens(
    adapters: Mapping[str, Adapter],
    store: Store,
    calls: Calls,
    emit: Callable[[Event], None],
    *,
    now: datetime,
    warning: timedelta,
) -> list[str]:
    """Ask each adapter when its token expires, record it, and emit a :class:`TokenExpiring` for each token
    due that was not alerted about at this expiry yet. Returns the channels alerted about."""
    for channel, adapter in adapters.items():
        try:
            token = await adapter.token_expiry_state()
        except DeliveryError as exc:
            log.warning("channel %s: could not read when its token expires: %s", channel, exc.reason)
            continue
        if token is not None:
            await calls(record, store, channel, token, now=now)
    states = await calls(store.token_expiries)
    alerted = []
    for state, problem in token_problems(states, now=now, warning=warning, channels=set(adapters)):
        if state.alerted_for == state.expires_at:
            continue
        emit(TokenExpiring(at=now, channel=state.channel, expires_at=state.expires_at, reason=problem))
        await calls(store.mark_token_alerted, state.channel, state.expires_at)
        alerted.append(state.channel)
    return alerted
