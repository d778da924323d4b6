"""Between database rows and the store's values: Delivery, Transition, ChannelPause, and new ids and keys."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scheduler.store.models import (
    ChannelPause,
    Delivery,
    DeliveryState,
    Transition,
    article_to_json,
    content_hash,
)

if TYPE_CHECKING:
    from sqlalchemy import RowMapping

    from scheduler.models import Post


def new_delivery_id() -> str:
    """``d_`` and 10 lowercase base32 characters (50 random bits): short enough to type."""
    return "d_" + base64.b32encode(secrets.token_bytes(10)).decode("ascii")[:10].lower()


def new_idempotency_key() -> str:
    """A key chosen once per delivery, sent on every attempt (Mastodon's ``Idempotency-Key`` and friends)."""
    return f"tagcast-{uuid.uuid4().hex}"


def zone_of(at: datetime) -> str:
    """The IANA name of ``at``'s zone (the planner returns slots in the schedule's zone), else ``UTC``."""
    key = getattr(at.tzinfo, "key", None)
    return key if isinstance(key, str) else "UTC"


def post_content(post: Post) -> dict[str, Any]:
    """The columns an edit of the article may change."""
    return {
        "network": post.network,
        "rule": post.rule,
        "template": post.template,
        "parts": list(post.parts),
        "lengths": list(post.lengths),
        "limit": post.limit,
        "first_limit": post.first_limit,
        "unit": post.unit,
        "content_hash": content_hash(post.parts),
        "article": article_to_json(post.article),
    }


def delivery_from_row(row: RowMapping | Mapping[str, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        source=row["source"],
        channel=row["channel"],
        network=row["network"],
        rule=row["rule"],
        template=row["template"],
        parts=tuple(row["parts"]),
        content_hash=row["content_hash"],
        article=dict(row["article"]),
        state=DeliveryState(row["state"]),
        scheduled_at=row["scheduled_at"],
        idempotency_key=row["idempotency_key"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        journal=dict(row["journal"]),
        remote_ids=tuple(row["remote_ids"]),
        remote_url=row["remote_url"],
        last_error=row["last_error"],
        claimed_by=row["claimed_by"],
        lease_until=row["lease_until"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        lengths=tuple(row["lengths"]),
        limit=row["limit"],
        first_limit=row["first_limit"],
        unit=row["unit"],
        zone=row["zone"],
        generation=row["generation"],
        receipt=dict(row["receipt"]),
        identity=row["identity"],
    )


def transition_from_row(row: RowMapping | Mapping[str, Any]) -> Transition:
    return Transition(
        delivery_id=row["delivery_id"],
        at=row["at"],
        from_state=DeliveryState(row["from_state"]) if row["from_state"] is not None else None,
        to_state=DeliveryState(row["to_state"]),
        reason=row["reason"],
    )


def pause_from_row(row: RowMapping | Mapping[str, Any]) -> ChannelPause:
    return ChannelPause(
        channel=row["channel"], until=row["until"], reason=row["reason"], created_at=row["created_at"]
    )
