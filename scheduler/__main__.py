from __future__ import annotations

from scheduler.cli.app import main

main()
