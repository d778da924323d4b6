"""Upsert: adding twice changes nothing, an edit before the slot updates in place, sent is never resent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from store_support import BERLIN, NOW, make_post

from scheduler.adapters.base import Receipt
from scheduler.models import Post
from scheduler.store import DeliveryState, Store, UpsertOutcome
from scheduler.store.ingest_ops import Settle, UpsertPlan
from scheduler.store.models import content_hash

LEASE = timedelta(minutes=5)


def send(store: Store, delivery_id: str, at: datetime) -> None:
    [claimed] = store.claim_due(at, worker="w", lease=LEASE, limit=1)
    assert claimed.id == delivery_id
    store.mark_sent(delivery_id, Receipt(remote_ids=("r1",), url="https://social.example/1"), now=at)


def test_a_new_post_is_added_planned_with_its_slot_and_text(store: Store) -> None:
    post = make_post()
    assert store.upsert(post, now=NOW) == UpsertOutcome.ADDED
    [delivery] = store.list()
    assert delivery.state is DeliveryState.PLANNED
    assert delivery.parts == ("A title #History",)
    assert delivery.lengths == (16,)
    assert (delivery.limit, delivery.unit, delivery.rule, delivery.network) == (
        500,
        "characters",
        "history",
        "file",
    )
    assert delivery.scheduled_at == NOW + timedelta(hours=1)
    assert delivery.scheduled_at.tzinfo is UTC
    assert delivery.zone == "Europe/Berlin"
    assert delivery.local_scheduled_at.utcoffset() == timedelta(hours=2)
    assert delivery.content_hash == content_hash(post.parts)
    assert delivery.id.startswith("d_") and len(delivery.id) == 12
    assert delivery.idempotency_key
    assert delivery.attempts == 0
    assert delivery.to_article() == post.article
    [created] = store.history(delivery.id)
    assert (created.from_state, created.to_state) == (None, DeliveryState.PLANNED)
    assert "posts/a.md" in created.reason and "history" in created.reason


def test_adding_the_same_post_twice_changes_nothing(store: Store) -> None:
    assert store.upsert(make_post(), now=NOW) == UpsertOutcome.ADDED
    [first] = store.list()
    later_slot = (NOW + timedelta(days=3)).astimezone(BERLIN)
    assert store.upsert(make_post(at=later_slot), now=NOW + timedelta(minutes=1)) == UpsertOutcome.UNCHANGED
    [again] = store.list()
    assert again == first
    assert len(store.history(first.id)) == 1


def test_an_edit_before_the_slot_updates_the_text_and_keeps_slot_id_and_key(store: Store) -> None:
    store.upsert(make_post(), now=NOW)
    [before] = store.list()
    edited = make_post(parts=["A better title #History", "part two"], at=None, title="A better title")
    edited = replace(edited, scheduled_at=None)  # ingestion does not plan a post that keeps its slot
    result = store.upsert_result(edited, now=NOW + timedelta(minutes=5))
    assert result.outcome == UpsertOutcome.UPDATED
    [after] = store.list()
    assert result.delivery == after
    assert after.parts == ("A better title #History", "part two")
    assert after.lengths == (23, 8)
    assert after.title == "A better title"
    assert (after.id, after.idempotency_key, after.scheduled_at) == (
        before.id,
        before.idempotency_key,
        before.scheduled_at,
    )
    assert after.content_hash != before.content_hash
    assert after.updated_at == NOW + timedelta(minutes=5)
    edit = store.history(after.id)[-1]
    assert (edit.from_state, edit.to_state) == (DeliveryState.PLANNED, DeliveryState.PLANNED)
    assert "edited" in edit.reason


def test_an_edit_while_retrying_leaves_the_delivery_alone(store: Store) -> None:
    store.upsert(make_post(at=NOW), now=NOW)
    [claimed] = store.claim_due(NOW, worker="w", lease=LEASE, limit=1)
    store.mark_retry(claimed.id, at=NOW + timedelta(minutes=2), reason="503 from the server", now=NOW)
    outcome = store.upsert(make_post(parts=["changed"]), now=NOW)
    assert outcome == UpsertOutcome.IN_FLIGHT
    assert store.get(claimed.id).parts == ("A title #History",)


def test_an_edit_after_sending_is_not_reposted_unless_asked(store: Store) -> None:
    store.upsert(make_post(at=NOW), now=NOW)
    [sent] = store.list()
    send(store, sent.id, NOW)
    assert store.upsert(make_post(at=NOW), now=NOW) == UpsertOutcome.UNCHANGED
    edited = make_post(parts=["corrected text"], at=NOW + timedelta(days=1))
    assert store.upsert(edited, now=NOW) == UpsertOutcome.ALREADY_SENT
    assert [d.id for d in store.list()] == [sent.id]

    result = store.upsert_result(edited, now=NOW, repost=True)
    assert result.outcome == UpsertOutcome.REPOSTED
    repost = result.delivery
    assert repost is not None
    assert repost.id != sent.id
    assert repost.idempotency_key != sent.idempotency_key
    assert repost.generation == 2
    assert repost.parts == ("corrected text",)
    assert repost.state is DeliveryState.PLANNED
    assert repost.scheduled_at == NOW + timedelta(days=1)
    assert store.find("posts/a.md", "file") == repost
    assert store.get(sent.id).state is DeliveryState.SENT
    assert f"after delivery {sent.id} was sent" in store.history(repost.id)[0].reason
    # the repost itself is now the newest: the same text again is unchanged
    assert store.upsert(edited, now=NOW, repost=True) == UpsertOutcome.UNCHANGED


def test_a_cancelled_post_stays_cancelled_until_its_text_changes(store: Store) -> None:
    store.upsert(make_post(), now=NOW)
    [first] = store.list()
    store.cancel(first.id, now=NOW)
    assert store.upsert(make_post(), now=NOW) == UpsertOutcome.UNCHANGED
    assert store.upsert(make_post(parts=["new text"]), now=NOW) == UpsertOutcome.ADDED
    newest = store.find("posts/a.md", "file")
    assert newest is not None and newest.id != first.id and newest.state is DeliveryState.PLANNED


def test_inactive_invalid_and_unplanned_posts_are_skipped(store: Store) -> None:
    assert store.upsert(make_post(active=False), now=NOW) == UpsertOutcome.SKIPPED
    assert store.upsert(make_post(problems=["too long"]), now=NOW) == UpsertOutcome.SKIPPED
    unplanned = replace(make_post(), scheduled_at=None)
    assert store.upsert(unplanned, now=NOW) == UpsertOutcome.SKIPPED
    assert store.list() == []


def test_one_article_on_two_channels_is_two_deliveries(store: Store) -> None:
    store.upsert(make_post(channel="file"), now=NOW)
    store.upsert(make_post(channel="masto"), now=NOW)
    assert sorted(d.channel for d in store.list()) == ["file", "masto"]
    assert store.find("posts/a.md", "masto") is not None
    assert store.find("posts/a.md", "bsky") is None


def test_taken_slots_are_the_live_and_recently_sent_ones(store: Store) -> None:
    times = [NOW + timedelta(hours=n) for n in range(5)]
    for n, at in enumerate(times):
        store.upsert(make_post(f"posts/{n}.md", at=at), now=NOW)
    ids = {d.source: d.id for d in store.list()}
    store.cancel(ids["posts/1.md"], now=NOW)
    send(store, ids["posts/0.md"], times[0])
    store.upsert(make_post("posts/other.md", channel="other", at=NOW), now=NOW)
    assert store.taken_slots("file", since=NOW - timedelta(days=1)) == [times[0], *times[2:]]
    assert store.taken_slots("file", since=NOW + timedelta(minutes=1)) == times[2:]
    assert store.taken_slots("nowhere") == []


def test_a_changed_publish_at_moves_a_planned_delivery_but_never_a_sent_one(store: Store) -> None:
    store.upsert(make_post(at=NOW + timedelta(hours=1)), now=NOW)
    [before] = store.list()
    retimed = make_post(at=NOW + timedelta(days=3))
    retimed = replace(retimed, article=replace(retimed.article, publish_at=NOW + timedelta(days=3)))
    assert store.upsert(retimed, now=NOW) == UpsertOutcome.UPDATED
    moved = store.get(before.id)
    assert (moved.scheduled_at, moved.idempotency_key) == (NOW + timedelta(days=3), before.idempotency_key)
    assert "moved to" in store.history(before.id)[-1].reason
    send(store, before.id, NOW + timedelta(days=3))
    again = make_post(at=NOW + timedelta(days=5))
    again = replace(again, article=replace(again.article, publish_at=NOW + timedelta(days=5)))
    assert store.upsert(again, now=NOW) == UpsertOutcome.UNCHANGED
    assert [d.id for d in store.list()] == [before.id]


class Files:
    """What ingestion tells the store about the article files: which file holds which identity."""

    def __init__(self, held: dict[str, str]) -> None:
        self.held = held

    def holds(self, source: str, identity: str) -> bool:
        return self.held.get(source) == identity

    def held_elsewhere(self, identity: str, source: str) -> bool:
        return any(i == identity and s != source for s, i in self.held.items())


def same_article(source: str) -> Post:
    """The post of posts/a.md's article, from another file."""
    post = make_post()
    return replace(post, article=replace(post.article, source=source))


def decided(store: Store, post: Post, files: Files | None = None) -> UpsertPlan:
    """What the store decides about ``post`` (its settle leaves the post out: nothing is written)."""
    plans: list[UpsertPlan] = []

    def settler(taken: Mapping[str, list[datetime]]) -> Settle:
        def settle(post: Post, plan: UpsertPlan) -> None:
            plans.append(plan)

        return settle

    before = store.list()
    assert store.upsert_each([post], settler, now=NOW, files=files) == [None]
    assert store.list() == before
    [plan] = plans
    return plan


def test_a_renamed_file_takes_its_delivery_along_and_a_copy_is_a_duplicate(store: Store) -> None:
    first = store.upsert_result(make_post(), now=NOW).delivery
    assert first is not None and first.identity == "url:https://example.org/posts/a.md"

    copy = store.upsert_result(same_article("posts/copy.md"), now=NOW)  # without `files`: always a copy
    assert (copy.outcome, copy.copy_of, copy.delivery) == (UpsertOutcome.DUPLICATE, "posts/a.md", first)
    assert decided(store, same_article("posts/copy.md")).outcome is UpsertOutcome.DUPLICATE

    files = Files({"posts/moved.md": first.identity})  # posts/a.md no longer holds it
    plan = decided(store, same_article("posts/moved.md"), files=files)
    assert (plan.outcome, plan.existing) == (UpsertOutcome.RENAMED, first)
    moved = store.upsert_result(same_article("posts/moved.md"), now=NOW, files=files)
    assert (moved.outcome, moved.moved_from) == (UpsertOutcome.RENAMED, "posts/a.md")
    assert moved.delivery is not None
    assert (moved.delivery.id, moved.delivery.source) == (first.id, "posts/moved.md")
    assert moved.delivery.idempotency_key == first.idempotency_key
    assert [d.id for d in store.list()] == [first.id]

    reposted = store.upsert_result(same_article("posts/copy.md"), now=NOW, repost=True, files=files)
    assert reposted.outcome is UpsertOutcome.REPOSTED and reposted.delivery is not None
    assert (reposted.delivery.generation, reposted.delivery.identity) == (2, first.identity)


def test_the_epoch_is_set_once_by_the_first_ingest(store: Store) -> None:
    assert store.epoch(NOW) == NOW
    assert store.epoch(NOW + timedelta(days=3)) == NOW
