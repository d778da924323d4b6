"""The scheduling service behind ``tagcast serve``: clock, dispatcher, retries, crash recovery.

- :mod:`~scheduler.service.runner`: start-up, the two loops (dispatch, watch), reload and signals;
- :mod:`~scheduler.service.clock`: APScheduler 3.11 as the clock only (the outbox holds the posts);
- :mod:`~scheduler.service.dispatcher`: claim one due post per channel, publish it, settle it; and settle
  what dead workers left in ``sending`` (its Reconciler);
- :mod:`~scheduler.service.outcomes`: what each outcome does to the delivery and its channel;
- :mod:`~scheduler.service.retry`: backoff with jitter, attempt and age limits (pure);
- :mod:`~scheduler.service.recovery`: the misfire policy after downtime;
- :mod:`~scheduler.service.channels`, :mod:`~scheduler.service.storecalls`, :mod:`~scheduler.service.watch`:
  the adapter cache, store calls off the event loop, and file change detection.
"""
