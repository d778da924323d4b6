"""Alerts: tell a person, through a channel they already read, the moment the service needs one.

Events of the service (:mod:`scheduler.service.events`) become alert items (:mod:`~scheduler.alerts.items`:
which events, by ``[alerts]``); the items of one channel within ``alerts.group_window`` become ONE message
(:mod:`~scheduler.alerts.grouping`); at most ``alerts.max_per_hour`` messages go out an hour, then one
"N more alerts suppressed" line (:mod:`~scheduler.alerts.limits`). A message is short and human: what
happened, to which delivery, channel and article, why, and the command to run
(:mod:`~scheduler.alerts.render`); every configured secret value is masked in it before it leaves.

Messages are sent through tagcast's own adapters to the channels named in ``alerts.channels``
(:mod:`~scheduler.alerts.sender`), from their own asyncio task with a bounded queue and a timeout
(:mod:`~scheduler.alerts.alerter`): an alert that cannot be sent is logged and never blocks or fails a
delivery. The optional daily digest (:mod:`~scheduler.alerts.digest`) lists what went out, with links.
"""
