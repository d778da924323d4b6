"""Fake social networks speaking real HTTP on loopback, for adapter tests (see :mod:`fakes.server`).

Import them as ``from fakes.server import FakeServer`` / ``from fakes.mastodon import MastodonFake``: pytest
puts ``tests/`` on ``sys.path`` (it holds a ``conftest.py`` and no ``__init__.py``).
"""
