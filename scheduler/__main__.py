from __future__ import annotations

from scheduler.cli.main import main

main()
