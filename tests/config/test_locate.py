from __future__ import annotations

import json
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from scheduler.config.locate import find_line, toml_key_lines

TEXT = """\
# comment
version = 1

[store]
url = "sqlite:///x.db"

[channels.bsky]
network = "bluesky"
"handle" = "a.test"

[[rules]]
tags = ["a"]

[[rules]]
tags = ["b"]
channels = ["bsky"]
"""


def test_tables_keys_and_arrays_of_tables() -> None:
    lines = toml_key_lines(TEXT)
    assert lines[("version",)] == 2
    assert lines[("store", "url")] == 5
    assert lines[("channels", "bsky")] == 7
    assert lines[("channels", "bsky", "handle")] == 9
    assert lines[("rules", "0", "tags")] == 12
    assert lines[("rules", "1", "channels")] == 16


def test_nearest_written_ancestor() -> None:
    lines = toml_key_lines(TEXT)
    assert find_line(lines, ["channels", "bsky", "password"]) == 7
    assert find_line(lines, ["rules", 1, "priority"]) == 14
    assert find_line(lines, ["nowhere"]) is None


MULTILINE = '''\
[schedules.daily]
slots = [
  "daily 09:00",   # a comment with ] and ,
  'dialy 10:00', "x\\"]",
  """multi
line""",
]
quiet_dates = [2026-12-25, 2027-01-01]
other = { a = [1, 2], b = "}" }
nested = [[1, 2], [
  3,
]]
after = 1
'''


def test_array_items_get_their_own_lines() -> None:
    lines = toml_key_lines(MULTILINE)
    slots = ("schedules", "daily", "slots")
    assert [lines[(*slots, str(i))] for i in range(4)] == [3, 4, 4, 5]
    assert lines[("schedules", "daily", "quiet_dates", "1")] == 8
    assert lines[("schedules", "daily", "nested", "1", "0")] == 11
    assert lines[("schedules", "daily", "after")] == 13, "lines inside a value are not read as keys"
    assert ("0",) not in lines and ("a",) not in lines, "inline tables are not located"
    assert find_line(lines, ["schedules", "daily", "slots", 7]) == 2


@given(st.lists(st.text(max_size=20), max_size=8))
def test_each_item_of_a_written_array_is_found_on_its_line(items: list[str]) -> None:
    written = [json.dumps(item, ensure_ascii=False).replace("\x7f", "\\u007f") for item in items]
    text = "[s]\nx = [\n" + "".join(f"  {w},  # {w!r}\n" for w in written) + "]\ny = 1\n"
    assert tomllib.loads(text)["s"]["x"] == items
    lines = toml_key_lines(text)
    assert [lines[("s", "x", str(i))] for i in range(len(items))] == list(range(3, 3 + len(items)))
    assert lines[("s", "y")] == 4 + len(items)


@given(st.text(max_size=200))
def test_any_text_is_scanned_without_an_error(text: str) -> None:
    toml_key_lines(text)
    toml_key_lines("k = " + text)


def test_a_header_also_writes_the_tables_above_it() -> None:
    lines = toml_key_lines("x = 1\n\n[service.lease.a]\n\n[[rules]]\n[[rules]]\n")
    assert lines[("service",)] == lines[("service", "lease")] == 3
    assert lines[("rules",)] == 5
    assert lines[("rules", "1")] == 6
