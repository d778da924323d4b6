"""Every regex over text a user, a template or a server wrote runs in linear time: 100k-character hostile
inputs (long runs of the characters each pattern trips on) go through every function that uses one.

A quadratic pattern takes minutes at this size (``#a`` + 25k ``!`` + ``a`` took 31 s in hashtag extraction);
a linear one a fraction of a second. No time is asserted: the generous timeout only keeps a regression from
hanging the suite. ``bench/regexes.py`` measures the 10k -> 100k ratio of the same functions and inputs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hostile.regex_cases import FUNCTIONS, HOSTILE, TROUBLE

SIZE = 100_000


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_hostile_inputs_aimed_at_its_patterns(name: str) -> None:
    function = FUNCTIONS[name]
    for label in TROUBLE[name]:
        text = HOSTILE[label](SIZE)
        assert len(text) == SIZE, label
        function(text)


UNITS = [
    "!",
    " ",
    ".",
    "#",
    "＃",
    "@",
    "<",
    "[",
    "*",
    "_",
    "a",
    "1",
    "\n",
    "'",
    "|",
    "/",
    ":",
    "🇲",
    "\u200d",
    "-",
]


@pytest.mark.timeout(300)
@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    st.sampled_from(sorted(FUNCTIONS)),
    st.text(alphabet=st.sampled_from(UNITS), min_size=1, max_size=4),
    st.sampled_from(["", "a", "x", "#a", "http://a", "# a", "@a@"]),
    st.sampled_from(["", "x", "!", " ", "a"]),
)
def test_mixed_runs(name: str, unit: str, prefix: str, suffix: str) -> None:
    body = SIZE - len(prefix) - len(suffix)
    FUNCTIONS[name](prefix + (unit * (body // len(unit) + 1))[:body] + suffix)
