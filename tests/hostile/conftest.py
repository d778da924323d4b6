"""The service tests' workspace (``site``, an outbox in it) and webhook receiver, for the hostile tests that
drive the service end to end."""

from __future__ import annotations

from service.conftest import site, webhook  # noqa: F401  (fixtures)
