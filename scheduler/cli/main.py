"""The ``tagcast`` program: the quick queue commands when they can answer (:mod:`scheduler.cli.quick`),
else the typer app (:mod:`scheduler.cli.app`). Imports nothing heavy before it knows which."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from scheduler.cli.quick import run

    try:
        code = run(sys.argv[1:])
    except BrokenPipeError:  # `tagcast queue list | head`: as click does, quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (the interpreter flushes it at exit)
        raise SystemExit(1) from None
    if code is not None:
        raise SystemExit(code)
    from scheduler.cli.app import app

    app()
