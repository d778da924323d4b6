"""The service loads httpx's async network stack at start-up, before it says it is ready, not when its first
post is due.

httpx's first request imports its async backend (anyio and its asyncio backend: 20-50 ms of imports on these
machines), which made the first post after a start that much late (``bench/queue.py`` case (c), its max).
Checked in a fresh interpreter running ``tagcast serve --exit-after-start``: when the service logs its
"ready" line, the backend is loaded (the old code loaded it only at the first request, or at shutdown).
"""

from __future__ import annotations

import subprocess
import sys

from .conftest import Site, config_text
from .processes import clean_env

REPORT_AT_READY = """
import logging, sys
from scheduler.cli.main import main

class AtReady(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("ready: worker"):
            loaded = "anyio._backends._asyncio" in sys.modules
            print("backend loaded at ready:", loaded, file=sys.stderr)

logging.getLogger("tagcast").addHandler(AtReady())
sys.argv = ["tagcast", *sys.argv[1:]]
main()
"""


def test_the_first_request_s_backend_is_loaded_before_ready(site: Site) -> None:
    site.write_config(config_text({"hook": {"network": "webhook", "url": "http://127.0.0.1:9/hook"}}))

    started = subprocess.run(
        [sys.executable, "-c", REPORT_AT_READY, "serve", "--exit-after-start"],
        cwd=site.root,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert started.returncode == 0, started.stderr
    assert "backend loaded at ready: True" in started.stderr.splitlines(), started.stderr
