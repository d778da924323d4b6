"""Feeds polled by ``tagcast serve`` (``[sources.NAME]``): fetch with conditional requests, bounded in size
and time (:mod:`scheduler.feeds.fetch`), then queue new and edited entries through the same ingestion as the
files of ``posts/`` (:mod:`scheduler.feeds.poll`).

Not to be confused with :mod:`scheduler.config.sources`, where each config value came from.
"""
