"""Network adapters, one module each, discovered through the ``tagcast.adapters`` entry-point group."""
