"""Names a user gives in the config: channels and schedules are identifiers, templates stay in their folder.

A channel name becomes part of a folder (the file adapter's ``var/outbox/NAME``), of environment variables
(``TAGCAST_CHANNELS__NAME__TOKEN``) and of every log line and terminal message about the channel, so it must
not hold a path, white space or control characters. Environment variables match names in any case, which is
why names are lower case: ``Bsky`` would never receive ``TAGCAST_CHANNELS__BSKY__PASSWORD``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

NAME = re.compile(r"[a-z][a-z0-9_-]{0,63}")
NAME_RULE = "lower-case letters, digits, '_' and '-', starting with a letter, at most 64 characters"


def shown(text: str) -> str:
    """``text`` quoted for a message, with control characters, escapes and line breaks made visible."""
    return repr(text)


_EXAMPLES = {
    "channel": ("bsky or news_x", "CHANNELS__{}__TOKEN"),
    "schedule": ("weekdays", "SCHEDULES__{}__SLOTS"),
}


def name_problem(name: str, kind: str) -> str | None:
    """Why ``name`` cannot be a ``kind`` name (``channel`` or ``schedule``), or ``None`` when it can."""
    if NAME.fullmatch(name):
        return None
    examples, variable = _EXAMPLES[kind]
    message = f"{shown(name)} cannot be a {kind} name: use {NAME_RULE} (e.g. {examples})"
    if NAME.fullmatch(name.lower()):
        message += (
            f"; did you mean {shown(name.lower())}? Names are lower case because environment variables "
            f"such as TAGCAST_{variable.format(name.upper())} match them in any case"
        )
    return message


def _name(kind: str) -> tuple[AfterValidator, WithJsonSchema]:
    def check(name: str) -> str:
        problem = name_problem(name, kind)
        if problem is not None:
            raise ValueError(problem)
        return name

    return AfterValidator(check), WithJsonSchema({"type": "string", "pattern": f"^{NAME.pattern}$"})


ChannelName = Annotated[str, *_name("channel")]
"""The name of a ``[channels.NAME]`` table."""
ScheduleName = Annotated[str, *_name("schedule")]
"""The name of a ``[schedules.NAME]`` table."""


def template_problem(name: str) -> str | None:
    """Why ``name`` cannot name a template, or ``None``: a template is a file inside the templates folder
    (``history.j2``, ``news/short.j2``), never a path out of it."""
    parts = PurePosixPath(name).parts
    if not name.strip() or any(not ch.isprintable() for ch in name):
        why = "it is empty or holds control characters"
    elif name.startswith(("/", "~")) or "\\" in name or re.match(r"[A-Za-z]:", name):
        why = "it is a path outside the templates folder"
    elif ".." in parts:
        why = "'..' would leave the templates folder"
    else:
        return None
    return (
        f"{shown(name)} cannot be a template name: {why}; name a file in config/templates/ (or a built-in), "
        "e.g. history.j2 or news/short.j2"
    )


def check_template(name: str) -> str:
    """``name`` when it can name a template; else a ValueError saying why."""
    problem = template_problem(name)
    if problem is not None:
        raise ValueError(problem)
    return name


TemplateName = Annotated[str, AfterValidator(check_template)]


def check_path(value: str) -> str:
    """``value`` when it can name a file or folder: no NUL, line break or other control character."""
    if not value.strip() or any(not ch.isprintable() for ch in value):
        raise ValueError(f"{shown(value)} cannot be a path: it is empty or holds control characters")
    if len(value.encode("utf-8")) > 4096 or any(len(part.encode("utf-8")) > 255 for part in value.split("/")):
        raise ValueError(f"{shown(value[:40])}... cannot be a path: too long (a name: at most 255 bytes)")
    home_folder(value)
    return value


def home_folder(value: str) -> str:
    """``value`` when a leading ``~`` or ``~user`` in it can be expanded; else a ValueError."""
    try:
        Path(value).expanduser()
    except RuntimeError:
        user = value.split("/", 1)[0]
        raise ValueError(f"{shown(value)}: {user} names no home folder on this machine") from None
    return value


PathText = Annotated[str, AfterValidator(check_path)]
"""A file or folder, relative to the workspace or absolute."""
