"""``preview --json`` writes its list an item at a time with its own indenting encoder: the same bytes as
``json.dumps(..., ensure_ascii=False, indent=2, default=str)`` of the whole list."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.cli.common import print_json, print_json_list

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        | st.dictionaries(st.integers(), inner, min_size=1, max_size=2)
    ),  # left to the library
    max_leaves=20,
)


def printed(show: Any, data: Any) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        show(data)
    return out.getvalue()


@settings(max_examples=400, deadline=None)
@given(items=st.lists(VALUES, max_size=5))
def test_the_list_written_an_item_at_a_time_is_what_json_dumps_writes(items: list[Any]) -> None:
    assert printed(print_json_list, iter(items)) == printed(print_json, items)


def test_a_post_like_item() -> None:
    item = {"parts": ['Moment\n\n👩\u200d👩\u200d👧 "quoted" \\ </p>'], "lengths": [42], "card": None}
    item |= {"at": datetime(2026, 12, 6, 9, tzinfo=UTC), "media": [], "extra": {}, "ok": True}
    assert (
        printed(print_json_list, [item, item])
        == json.dumps([item, item], ensure_ascii=False, indent=2, default=str) + "\n"
    )
