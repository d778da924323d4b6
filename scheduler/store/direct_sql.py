"""The SQL of :class:`~scheduler.store.direct.DirectStore`, compiled for SQLite from the Store's
SQLAlchemy statements by ``python -m scheduler.store.direct_gen > scheduler/store/direct_sql.py``:
do not edit."""
# ruff: noqa: E501
# fmt: off

from __future__ import annotations

SCHEMA_VERSION = 7
VERSION = 'SELECT schema_version.version \nFROM schema_version \nWHERE schema_version.id = 1'
DELIVERY_TIMES = ('scheduled_at', 'due_at', 'next_attempt_at', 'lease_until', 'created_at', 'updated_at')
DELIVERY_JSON = ('parts', 'lengths', 'article', 'journal', 'remote_ids', 'receipt')
TRANSITION_TIMES = ('at',)
GET = 'SELECT deliveries.id, deliveries.source, deliveries.channel, deliveries.generation, deliveries.network, deliveries.rule, deliveries.template, deliveries.parts, deliveries.lengths, deliveries."limit", deliveries.unit, deliveries.content_hash, deliveries.article, deliveries.state, deliveries.scheduled_at, deliveries.zone, deliveries.due_at, deliveries.idempotency_key, deliveries.attempts, deliveries.next_attempt_at, deliveries.journal, deliveries.remote_ids, deliveries.remote_url, deliveries.receipt, deliveries.last_error, deliveries.claimed_by, deliveries.lease_until, deliveries.created_at, deliveries.updated_at, deliveries.identity \nFROM deliveries \nWHERE deliveries.id = :delivery_id'
HISTORY = 'SELECT transitions.id, transitions.delivery_id, transitions.at, transitions.from_state, transitions.to_state, transitions.reason \nFROM transitions \nWHERE transitions.delivery_id = :delivery_id ORDER BY transitions.id'
COUNTS = 'SELECT deliveries.channel, deliveries.state, count(*) AS count_1 \nFROM deliveries GROUP BY deliveries.channel, deliveries.state ORDER BY deliveries.channel, deliveries.state'
INSERT_TRANSITION = 'INSERT INTO transitions (delivery_id, at, from_state, to_state, reason) VALUES (:delivery_id, :at, :from_state, :to_state, :reason)'
LIST = {
    (False, False): 'SELECT deliveries.id, deliveries.source, deliveries.channel, deliveries.generation, deliveries.network, deliveries.rule, deliveries.template, deliveries.parts, deliveries.lengths, deliveries."limit", deliveries.unit, deliveries.content_hash, deliveries.article, deliveries.state, deliveries.scheduled_at, deliveries.zone, deliveries.due_at, deliveries.idempotency_key, deliveries.attempts, deliveries.next_attempt_at, deliveries.journal, deliveries.remote_ids, deliveries.remote_url, deliveries.receipt, deliveries.last_error, deliveries.claimed_by, deliveries.lease_until, deliveries.created_at, deliveries.updated_at, deliveries.identity \nFROM deliveries ORDER BY deliveries.scheduled_at, deliveries.id\n LIMIT :limit OFFSET :offset',
    (False, True): 'SELECT deliveries.id, deliveries.source, deliveries.channel, deliveries.generation, deliveries.network, deliveries.rule, deliveries.template, deliveries.parts, deliveries.lengths, deliveries."limit", deliveries.unit, deliveries.content_hash, deliveries.article, deliveries.state, deliveries.scheduled_at, deliveries.zone, deliveries.due_at, deliveries.idempotency_key, deliveries.attempts, deliveries.next_attempt_at, deliveries.journal, deliveries.remote_ids, deliveries.remote_url, deliveries.receipt, deliveries.last_error, deliveries.claimed_by, deliveries.lease_until, deliveries.created_at, deliveries.updated_at, deliveries.identity \nFROM deliveries \nWHERE deliveries.channel = :channel ORDER BY deliveries.scheduled_at, deliveries.id\n LIMIT :limit OFFSET :offset',
    (True, False): 'SELECT deliveries.id, deliveries.source, deliveries.channel, deliveries.generation, deliveries.network, deliveries.rule, deliveries.template, deliveries.parts, deliveries.lengths, deliveries."limit", deliveries.unit, deliveries.content_hash, deliveries.article, deliveries.state, deliveries.scheduled_at, deliveries.zone, deliveries.due_at, deliveries.idempotency_key, deliveries.attempts, deliveries.next_attempt_at, deliveries.journal, deliveries.remote_ids, deliveries.remote_url, deliveries.receipt, deliveries.last_error, deliveries.claimed_by, deliveries.lease_until, deliveries.created_at, deliveries.updated_at, deliveries.identity \nFROM deliveries \nWHERE deliveries.state IN (__[POSTCOMPILE_states]) ORDER BY deliveries.scheduled_at, deliveries.id\n LIMIT :limit OFFSET :offset',
    (True, True): 'SELECT deliveries.id, deliveries.source, deliveries.channel, deliveries.generation, deliveries.network, deliveries.rule, deliveries.template, deliveries.parts, deliveries.lengths, deliveries."limit", deliveries.unit, deliveries.content_hash, deliveries.article, deliveries.state, deliveries.scheduled_at, deliveries.zone, deliveries.due_at, deliveries.idempotency_key, deliveries.attempts, deliveries.next_attempt_at, deliveries.journal, deliveries.remote_ids, deliveries.remote_url, deliveries.receipt, deliveries.last_error, deliveries.claimed_by, deliveries.lease_until, deliveries.created_at, deliveries.updated_at, deliveries.identity \nFROM deliveries \nWHERE deliveries.state IN (__[POSTCOMPILE_states]) AND deliveries.channel = :channel ORDER BY deliveries.scheduled_at, deliveries.id\n LIMIT :limit OFFSET :offset',
}
"""By (filtered by state, filtered by channel)."""
MOVE = {
    ('attempts', 'due_at', 'next_attempt_at', 'scheduled_at'): 'UPDATE deliveries SET state=:state, scheduled_at=:scheduled_at, due_at=:due_at, attempts=:attempts, next_attempt_at=:next_attempt_at, updated_at=:updated_at WHERE deliveries.id = :row_id AND deliveries.state = :from_state',
    ('due_at', 'next_attempt_at'): 'UPDATE deliveries SET state=:state, due_at=:due_at, next_attempt_at=:next_attempt_at, updated_at=:updated_at WHERE deliveries.id = :row_id AND deliveries.state = :from_state',
}
"""By the columns an operator's move sets, sorted."""
