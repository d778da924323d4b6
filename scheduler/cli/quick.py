"""The queue commands an operator types most, without typer, pydantic or SQLAlchemy.

``tagcast queue list`` spent over half a second of CPU importing and building what it did not use: typer
coerces every option through pydantic, the config is validated whole by pydantic-settings, the outbox is
opened through SQLAlchemy. For the common, well-formed calls of

    queue list [--state S]... [--channel C] [--limit N] [--offset N] [--json]
    queue show ID [--json]
    queue cancel ID
    queue reschedule ID --at TIME
    queue retry ID

(each with ``--config PATH``), :func:`run` finds the workspace as every command does, reads ``[store] url``
from the TOML, opens a SQLite outbox with :class:`~scheduler.store.direct.DirectStore` and prints through the
very functions of the full commands (:mod:`scheduler.cli.outbox`). Anything else, or any doubt, returns None
before anything was changed or printed, and the full typer command runs: ``--help``, an option it does not
know, a value the full command would refuse, a channel the outbox has never seen, ``--now``, a store URL set
in the environment or ``.env``, a PostgreSQL or in-memory outbox, a missing file, an outbox whose schema
needs migrating, a config that is not valid TOML or of another format version.

What is not the same: the quick commands read ``[store]`` only, so a mistake elsewhere in the config (an
unknown key, a bad slot) no longer stops ``queue list``; every other command still reports it.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.store.models import DeliveryState

if TYPE_CHECKING:
    from scheduler.store.direct import DirectStore

CONFIG_VERSION = 1
"""The config format this tagcast reads (``Settings.version``; a test keeps them equal): another is the full
command's to report."""
DEFAULT_STORE_URL = "sqlite:///var/tagcast.db"
"""``[store] url`` when the config has none (``StoreSettings.url``'s default; a test keeps them equal)."""

_SQLITE_FILE = re.compile(r"sqlite:///([^\s?#%~:][^\s?#%]*)")
_NUMBER = re.compile(r"[0-9]{1,18}")
_STATES = frozenset(state.value for state in DeliveryState)

_VALUE_OPTIONS = {
    "list": {"--state": "state", "-s": "state", "--channel": "channel", "-C": "channel", "--limit": "limit"}
    | {"-n": "limit", "--offset": "offset"},
    "show": {},
    "cancel": {},
    "reschedule": {"--at": "at"},
    "retry": {},
}
_FLAGS = {"list": {"--json": "json"}, "show": {"--json": "json"}, "cancel": {}, "reschedule": {}, "retry": {}}
_CONFIG_OPTIONS = {"--config": "config", "-c": "config"}


@dataclass
class Request:
    """One parsed queue command."""

    command: str
    delivery_id: str | None = None
    states: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    json: bool = False


def parse(argv: Sequence[str]) -> Request | None:
    """``argv`` (after the program name) as a :class:`Request`; None unless it is a plain, valid call."""
    if len(argv) < 2 or argv[0] != "queue" or argv[1] not in _VALUE_OPTIONS:
        return None
    request = Request(argv[1])
    values = {**_VALUE_OPTIONS[request.command], **_CONFIG_OPTIONS}
    flags = _FLAGS[request.command]
    positional: list[str] = []
    rest = list(argv[2:])
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, attached = word.partition("=")
        if name in flags and not equals:
            if request.json:
                return None
            request.json = True
        elif name in values:
            if equals:
                value = attached
            elif rest and not rest[0].startswith("-"):
                value = rest.pop(0)
            else:
                return None
            key = values[name]
            if key == "state":
                request.states.append(value)
            elif key in request.options:
                return None
            else:
                request.options[key] = value
        else:
            return None  # --help, --now, an unknown option, "--": the full command
    return request if _valid(request, positional) else None


def _valid(request: Request, positional: list[str]) -> bool:
    if request.command == "list":
        if positional:
            return False
        request.options.setdefault("limit", "50")
        request.options.setdefault("offset", "0")
        numbers = (request.options["limit"], request.options["offset"])
        return (
            all(_NUMBER.fullmatch(n) for n in numbers)
            and int(numbers[0]) >= 1
            and all(state in _STATES for state in request.states)
        )
    if len(positional) != 1:
        return False
    request.delivery_id = positional[0]
    if request.command == "reschedule":
        at = request.options.get("at")
        if at is None:
            return False
        try:
            datetime.fromisoformat(at.strip())
        except ValueError:
            return False
    return True


def outbox_file(config: str | None) -> tuple[Path, Path] | None:
    """The SQLite file of the workspace's outbox and the workspace folder, as the Store would find them;
    None when the full command must decide (see the module docstring)."""
    from scheduler.config.paths import find_workspace, workspace_root
    from scheduler.errors import ConfigError

    if any(name.upper().startswith("TAGCAST_STORE") for name in os.environ):
        return None
    try:
        config_path = find_workspace(config)
        data = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (ConfigError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    root = workspace_root(config_path)
    env_file = root / ".env"
    if env_file.exists():
        try:
            if "TAGCAST_STORE" in env_file.read_text(encoding="utf-8").upper():
                return None
        except (OSError, UnicodeDecodeError):
            return None
    if data.get("version", CONFIG_VERSION) != CONFIG_VERSION:
        return None
    store = data.get("store", {})
    url = store.get("url", DEFAULT_STORE_URL) if isinstance(store, dict) else None
    match = _SQLITE_FILE.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        return None
    path = Path(match.group(1))
    return (path if path.is_absolute() else root / path), root


def run(argv: Sequence[str]) -> int | None:
    """Run the queue command ``argv`` the quick way and return its exit code; None when the full command
    must run instead (nothing was changed or printed then)."""
    request = parse(argv)
    if request is None:
        return None
    found = outbox_file(request.options.get("config"))
    if found is None:
        return None
    from scheduler.store.direct import DirectStore

    database, root = found
    store = DirectStore.open(database, root=root)
    if store is None:
        return None
    from scheduler.errors import UserError

    try:
        with store:
            return _run(request, store)
    except UserError as exc:
        from scheduler.cli.console import print_error

        print_error(str(exc))
        return 1
    except KeyboardInterrupt:
        from scheduler.cli.console import stderr

        stderr().print("interrupted")
        return 130


def _run(request: Request, store: DirectStore) -> int | None:
    from scheduler.cli import outbox

    delivery_id = request.delivery_id or ""
    if request.command == "list":
        channel = request.options.get("channel")
        if channel is not None and channel not in store.counts():
            return None  # configured or unknown: the config says, and the full command asks it
        limit, offset = int(request.options["limit"]), int(request.options["offset"])
        page = store.list(states=request.states or None, channel=channel, limit=limit, offset=offset)
        outbox.show_page(page, as_json=request.json, offset=offset, limit=limit)
    elif request.command == "show":
        delivery = store.get(delivery_id)
        outbox.show_one(delivery, store.history(delivery_id), as_json=request.json)
    elif request.command == "cancel":
        outbox.said(store.cancel(delivery_id), "cancelled")
    elif request.command == "reschedule":
        outbox.reschedule_to(store, delivery_id, request.options["at"], datetime.now(UTC))
    else:
        outbox.said(store.retry(delivery_id), "planned again now:")
    return 0
