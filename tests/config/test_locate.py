from __future__ import annotations

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
