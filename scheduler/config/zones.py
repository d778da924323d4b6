"""Time zone names in the config: IANA names only, checked when the config is read, with a "did you mean"."""

from __future__ import annotations

import difflib
import functools
import zoneinfo
from typing import Annotated

from pydantic import AfterValidator

EXAMPLES = "'Europe/Berlin', 'America/New_York' or 'UTC'"


@functools.cache
def _known() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def zone_suggestions(name: str) -> list[str]:
    """Known zones close to ``name``: the same name in another case, the zone of a city, or near spellings."""
    known = _known()
    folded = name.strip().casefold()
    same = [zone for zone in known if zone.casefold() == folded]
    if same:
        return same[:1]
    city = folded.rsplit("/", 1)[-1].replace(" ", "_")
    cities = [zone for zone in known if zone.casefold().rsplit("/", 1)[-1] == city]
    return cities[:3] or difflib.get_close_matches(name.strip(), known, n=3)


def check_zone(name: str) -> str:
    """``name`` when it is an IANA time zone this machine knows; else a ValueError that suggests one."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = zone_suggestions(name)
        suggestion = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise ValueError(
            f"{name!r} is not a known IANA time zone; {suggestion}use a name such as {EXAMPLES}"
        ) from None
    return name


ZoneName = Annotated[str, AfterValidator(check_zone)]
"""A ``str`` field that must name an IANA time zone."""
