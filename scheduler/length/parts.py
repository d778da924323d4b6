"""The limit of each part of a post (no imports: the store's rows use it too, and its quick commands start
fast)."""

from __future__ import annotations


def part_limits(limit: int, first_limit: int | None, parts: int) -> tuple[int, ...]:
    """The limit of each of ``parts`` parts of a post, first part first: ``first_limit`` for the first when
    set (Telegram: a photo's caption), ``limit`` for every other."""
    rest = [limit] * max(parts - 1, 0)
    return (first_limit if first_limit is not None else limit, *rest)[:parts]
