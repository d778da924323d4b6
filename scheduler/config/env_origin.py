"""Where a config value from outside ``config/tagcast.toml`` came from: an environment variable, or a line
of the workspace's ``.env``. Error messages point there, not at the TOML line of the value it overrides::

    channels.bsky.max_hashtags (from .env line 3: TAGCAST_CHANNELS__BSKY__MAX_HASHTAGS): ...
    service.lease (from the environment variable TAGCAST_SERVICE__LEASE): ...

Names are matched as pydantic-settings matches them: ``TAGCAST_`` plus the key path joined by ``__``, in
any case; a variable naming a table (``TAGCAST_STORE='{"url": "..."}'``) is the origin of the keys its JSON
value holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dotenv.parser import Original, parse_stream

PREFIX = "TAGCAST_"


def env_name(path: Sequence[str | int]) -> str:
    """``["channels", "bsky", "password"]`` -> ``TAGCAST_CHANNELS__BSKY__PASSWORD``."""
    return PREFIX + "__".join(str(part) for part in path).upper()


def dotenv_entries(env_file: Path | str | None) -> dict[str, tuple[str, int, str | None]]:
    """Upper-cased name -> (name as written, 1-based line, value) of each variable in ``env_file``; a name
    set twice counts where it is set last (as python-dotenv reads it)."""
    if env_file is None:
        return {}
    try:
        with open(env_file, encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError):
        return {}
    return {
        binding.key.upper(): (binding.key, _first_line(binding.original), binding.value)
        for binding in bindings
        if binding.key is not None and not binding.error
    }


def dotenv_problems(env_file: Path | str | None) -> tuple[list[str], bool]:
    """What is wrong with ``env_file`` as a whole (not UTF-8, a ``TAGCAST_`` line that is no ``NAME=value``),
    and whether it can be read at all. python-dotenv skips a line it cannot parse; here a line meant for
    tagcast is a problem (other programs' lines are theirs to judge)."""
    if env_file is None:
        return [], True
    try:
        with open(env_file, encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except UnicodeDecodeError as exc:
        return [f".env: not UTF-8 text (byte {exc.start}); save it as UTF-8"], False
    except OSError as exc:
        return [f".env: cannot be read: {exc.strerror or exc}"], False
    return [
        f".env line {_first_line(binding.original)}: not NAME=value; quote a value that holds spaces, '#' or "
        "quotes (NAME='a value'), and write a line break inside a value as \\n between double quotes"
        for binding in bindings
        if binding.error and PREFIX.casefold() in binding.original.string.casefold()
    ], True


def _first_line(original: Original) -> int:
    """The line of a binding's name: python-dotenv counts from the blank lines that come before it."""
    text = original.string
    return original.line + text[: len(text) - len(text.lstrip())].count("\n")


def env_origin(
    loc: Sequence[str | int],
    env_file: Path | str | None,
    environ: Mapping[str, str] | None = None,
    *,
    table: bool = False,
) -> str | None:
    """Where the value at ``loc`` came from, when not from the TOML file: ``from the environment variable
    NAME`` or ``from .env line N: NAME``; ``None`` when no variable sets it.

    With ``table`` (or a ``loc`` ending in pydantic's ``"[key]"``), ``loc`` is a table, and a variable that
    sets any key below it made it: the origin of a table's bad name, or of a key missing from it.
    """
    environ = os.environ if environ is None else environ
    in_environment = [(name, value) for name, value in environ.items()]
    in_dotenv = dotenv_entries(env_file)
    if loc and loc[-1] == "[key]":
        loc, table = loc[:-1], True
    if table:
        below = env_name(loc) + "__"
        for name, _ in in_environment:
            if name.upper().startswith(below):
                return f"from the environment variable {name}"
        for name, line, _ in in_dotenv.values():
            if name.upper().startswith(below):
                return f"from .env line {line}: {name}"
    by_name = {name.upper(): (name, value) for name, value in in_environment}
    for size in range(len(loc), 0, -1):
        found = by_name.get(env_name(loc[:size]))
        if found is not None and _holds(found[1], loc[size:]):
            return f"from the environment variable {found[0]}"
    for size in range(len(loc), 0, -1):
        entry = in_dotenv.get(env_name(loc[:size]))
        if entry is not None and _holds(entry[2], loc[size:]):
            return f"from .env line {entry[1]}: {entry[0]}"
    return None


def _holds(value: str | None, rest: Sequence[str | int]) -> bool:
    """Whether a variable's value sets the key ``rest`` below it (a table given as JSON)."""
    if not rest:
        return True
    try:
        node: Any = json.loads(value or "")
    except (ValueError, RecursionError):
        return False
    for part in rest:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and str(part).isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True
