"""The ``tagcast`` command line: one module per command group, joined in :mod:`scheduler.cli.app`."""
