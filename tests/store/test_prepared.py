"""The hot statements run on the driver (:mod:`scheduler.store.prepared`) against the same statements run by
SQLAlchemy, on SQLite and PostgreSQL: the same rows read, the same rows written, the same errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError
from store_support import NOW, make_post

from scheduler.store import DeliveryState, Store
from scheduler.store import dispatch_sql as sql
from scheduler.store.prepared import Prepared
from scheduler.store.schema import deliveries, transitions

LEASE = timedelta(minutes=5)
PAIR = (
    {"from_state": "sending", "to_state": "sent", "reason": "sent: one"},
    {"from_state": "planned", "to_state": "sending", "reason": "claimed: two"},
)


def snapshot(connection: Connection) -> tuple[list[Any], list[Any]]:
    """Every delivery and transition row, in a stable order."""
    rows = connection.execute(select(deliveries).order_by(deliveries.c.id)).all()
    history = connection.execute(
        select(transitions.c.delivery_id, transitions.c.at, transitions.c.reason).order_by(transitions.c.id)
    ).all()
    return [tuple(row) for row in rows], [tuple(row) for row in history]


def both_ways(store: Store, prepared: Prepared, **values: Any) -> tuple[Any, Any]:
    """What ``prepared`` returns and leaves behind, run on the driver and by SQLAlchemy (each in a
    transaction rolled back afterwards)."""
    outcomes = []
    for on_driver in (True, False):
        with store.engine.connect() as connection, connection.begin() as transaction:
            if on_driver:
                returns_rows = hasattr(prepared.statement, "selected_columns") or bool(
                    getattr(prepared.statement, "exported_columns", ())  # UPDATE ... RETURNING
                )
                answer: Any = (
                    prepared.mappings(connection, **values)
                    if returns_rows
                    else prepared.run(connection, **values)
                )
            else:
                result = connection.execute(prepared.statement, values)
                answer = [dict(row) for row in result.mappings()] if result.returns_rows else result.rowcount
            if getattr(prepared.statement, "is_insert", False):
                answer = None  # an INSERT's count is not SQLAlchemy's to give (-1 on psycopg): rows compared
            outcomes.append((answer, snapshot(connection)))
            transaction.rollback()
    return outcomes[0], outcomes[1]


@pytest.fixture
def filled(store: Store) -> Store:
    for n in range(6):
        store.upsert(
            make_post(f"posts/{n}.md", "a" if n % 2 else "b", at=NOW + timedelta(minutes=n)), now=NOW
        )
    store.claim_due(NOW + timedelta(minutes=1), worker="w1", lease=LEASE, limit=1)  # one of b sending
    return store


def ids(store: Store, state: str) -> list[str]:
    return [d.id for d in store.list(states=[state], limit=100)]


def test_reads_return_what_sqlalchemy_returns(filled: Store) -> None:
    later = NOW + timedelta(hours=1)
    driver, alchemy = both_ways(filled, sql.HEAD, channel="a", now=later)
    assert driver == alchemy
    assert [row["channel"] for row in driver[0]] == ["a"]
    assert driver[0][0]["scheduled_at"].tzinfo is not None  # converted by the column's type
    assert isinstance(driver[0][0]["parts"], list)  # JSON read as JSON
    assert both_ways(filled, sql.HEAD, channel="b", now=later)[0][0] == []  # b is busy sending
    driver, alchemy = both_ways(filled, sql.DUE_CHANNELS, now=later)
    assert driver == alchemy and {row["channel"] for row in driver[0]} == {"a"}
    driver, alchemy = both_ways(filled, sql.NEXT_HEAD, now=later)
    assert driver == alchemy
    assert [row["id"] for row in driver[0]] == [
        both_ways(filled, sql.HEAD, channel="a", now=later)[0][0][0]["id"]
    ]
    assert both_ways(filled, sql.NEXT_HEAD, now=NOW - timedelta(days=1))[0][0] == []  # nothing due yet


def test_claims_and_receipts_write_what_sqlalchemy_writes(filled: Store) -> None:
    head = ids(filled, "planned")[0]
    sending = ids(filled, "sending")[0]
    at = NOW + timedelta(hours=2)
    cases: list[tuple[Prepared, dict[str, Any]]] = [
        (sql.TAKE, {"delivery_id": head, "worker": "w2", "lease_until": at + LEASE, "now": at}),
        (
            sql.SENT,
            {
                "delivery_id": sending,
                "remote_ids": ["1", "2"],
                "remote_url": "https://example.org/1",
                "receipt": {"status": 201},
                "now": at,
            },
        ),
        (sql.JOURNAL, {"delivery_id": sending, "journal": {"parts": ["1"]}}),
        (sql.RENEW, {"delivery_id": sending, "worker": "w1", "lease_until": at}),
        (sql.RENEW, {"delivery_id": sending, "worker": "someone else", "lease_until": at}),
        (
            sql.TRANSITION,
            {"delivery_id": head, "at": at, "from_state": None, "to_state": "planned", "reason": "a test"},
        ),
        (
            sql.history_insert(2),
            {
                **{f"{key}_1": value for key, value in PAIR[0].items()},
                **{f"{key}_2": value for key, value in PAIR[1].items()},
                "delivery_id_1": sending,
                "delivery_id_2": head,
                "at_1": at,
                "at_2": at + LEASE,
            },
        ),
    ]
    for prepared, values in cases:
        driver, alchemy = both_ways(filled, prepared, **values)
        assert driver == alchemy, values
    changed = [both_ways(filled, prepared, **values)[0][0] for prepared, values in cases]
    assert changed == [1, 1, 1, 1, 0, None, None]
    _, (_, history) = both_ways(filled, sql.history_insert(2), **cases[-1][1])[0]
    assert history[-2:] == [(sending, at, "sent: one"), (head, at + LEASE, "claimed: two")]


def test_a_claim_in_one_statement_returns_and_writes_what_sqlalchemy_does(filled: Store) -> None:
    """``TAKE_NEXT`` (SQLite's claim of the next head, ``UPDATE ... RETURNING``): the row it claimed, as it
    now is, and the same row written; the form for a retrying head claims nothing when the head is planned."""
    at = NOW + timedelta(hours=2)
    values = {"worker": "w2", "lease_until": at + LEASE, "now": at}
    [head] = both_ways(filled, sql.NEXT_HEAD, now=at)[0][0]
    driver, alchemy = both_ways(filled, sql.TAKE_NEXT[DeliveryState.PLANNED], **values)
    assert driver == alchemy
    [claimed] = driver[0]
    assert claimed["id"] == head["id"]
    assert (claimed["state"], claimed["claimed_by"], claimed["attempts"]) == ("sending", "w2", 1)
    assert claimed["lease_until"] == at + LEASE and claimed["due_at"] is None
    driver, alchemy = both_ways(filled, sql.TAKE_NEXT[DeliveryState.RETRYING], **values)
    assert driver == alchemy and driver[0] == []


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(filled: Store) -> None:
    values = {"delivery_id": "nobody", "at": NOW, "from_state": None, "to_state": "x", "reason": "r"}
    with filled.engine.connect() as connection, connection.begin(), pytest.raises(IntegrityError) as raised:
        sql.TRANSITION.run(connection, **values)  # the foreign key to deliveries
    assert "INSERT INTO transitions" in str(raised.value)


def test_a_statement_whose_sql_depends_on_a_list_is_refused(store: Store) -> None:
    in_list = Prepared(select(deliveries.c.id).where(deliveries.c.id.in_(bindparam("ids", expanding=True))))
    with store.engine.connect() as connection, pytest.raises(ValueError, match="expanding IN"):
        in_list.mappings(connection, ids=["a"])
