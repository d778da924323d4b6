"""The examples in the docstrings of the length engine and the facets run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "scheduler.adapters.registry",
    "scheduler.clusters",
    "scheduler.facets",
    "scheduler.length",
    "scheduler.length.fit",
    "scheduler.length.graphemes",
    "scheduler.length.linkedin",
    "scheduler.length.links",
    "scheduler.length.mastodon",
    "scheduler.length.networks",
    "scheduler.length.threads",
    "scheduler.length.twitter",
    "scheduler.length.urls",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
