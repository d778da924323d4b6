"""Which event loop ``tagcast serve`` runs on (``[service] event_loop``).

uvloop (libuv under asyncio's API) is installed with tagcast wherever it has wheels (not on Windows). The
service runs on it when it can: each post then costs less CPU, in the event loop and in the hand-overs
between the loop and the store thread (``docs/benchmarks.md``, "uvloop"). ``"asyncio"`` rules it out, should
a platform's uvloop misbehave; ``"uvloop"`` insists on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from scheduler.errors import ConfigError

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: str) -> LoopFactory | None:
    """The factory of the loop ``choice`` asks for; None for asyncio's own (or uvloop missing, on "auto")."""
    if choice == "asyncio":
        return None
    try:
        uvloop = import_module("uvloop")
    except ImportError as exc:
        if choice == "uvloop":
            raise ConfigError(
                f"service.event_loop is 'uvloop', but uvloop cannot be imported ({exc})",
                hint='pip install uvloop (it has no Windows build), or set event_loop = "auto" in [service]',
            ) from exc
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def running_loop_name() -> str:
    """The running loop as the log names it: ``uvloop 0.21.0`` or ``asyncio``."""
    module = type(asyncio.get_running_loop()).__module__.partition(".")[0]
    if module == "uvloop":
        try:
            return f"uvloop {version('uvloop')}"
        except PackageNotFoundError:  # pragma: no cover - running, so installed
            return "uvloop"
    return "asyncio"
