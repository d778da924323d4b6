"""tagcast: hashtag-driven social post scheduler.

The package is one pipeline, each stage a module that never imports a later one::

    articles -> routing -> render -> length/fit -> slots/plan -> store -> dispatch -> adapters
"""

from __future__ import annotations

__version__ = "0.1.0"
