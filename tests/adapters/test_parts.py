"""The parts journal shared by the adapters without idempotency: stored format, in-flight rules, versions."""

from __future__ import annotations

import json

import pytest

from scheduler.adapters.base import Journal
from scheduler.adapters.parts import PartsJournal
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError, UnknownOutcome

from .contract import THREAD, DurableJournal, outgoing

ADVICE = "mynet has no idempotency key: check the feed"

pytestmark = pytest.mark.anyio


def parts_of(journal: Journal, *, keep_ids: bool = True) -> PartsJournal:
    return PartsJournal(journal, outgoing(THREAD), network="mynet", advice=ADVICE, keep_ids=keep_ids)


async def start(parts: PartsJournal, index: int) -> None:
    """Part ``index`` goes out and its answer is lost."""
    async with parts.attempt(index):
        pass


async def send_all(durable: DurableJournal, *, keep_ids: bool = True) -> PartsJournal:
    parts = parts_of(durable.journal(), keep_ids=keep_ids)
    for index in parts.pending():
        await start(parts, index)
        await parts.done(f"m{index}")
    return parts


class TestStoredFormat:
    def test_a_fresh_journal_keeps_ids_in_a_list(self) -> None:
        journal = Journal(state={})
        parts_of(journal)
        assert journal.state == {"mynet": {"version": 1, "sent": [], "in_flight": None}}

    def test_a_fresh_counting_journal_keeps_a_count(self) -> None:
        journal = Journal(state={})
        parts_of(journal, keep_ids=False)
        assert journal.state == {"mynet": {"version": 1, "sent": 0, "in_flight": None}}

    async def test_every_part_is_kept_in_order(self) -> None:
        durable = DurableJournal()
        parts = await send_all(durable)
        assert (
            json.dumps(durable.saved)
            == '{"mynet": {"version": 1, "sent": ["m0", "m1", "m2"], "in_flight": null}}'
        )
        assert (parts.sent, parts.count, parts.in_flight) == (["m0", "m1", "m2"], 3, None)

    async def test_a_counting_journal_counts_and_keeps_no_ids(self) -> None:
        durable = DurableJournal()
        parts = await send_all(durable, keep_ids=False)
        assert json.dumps(durable.saved) == '{"mynet": {"version": 1, "sent": 3, "in_flight": null}}'
        assert (parts.sent, parts.count) == ([], 3)

    async def test_other_keys_of_the_adapter_are_kept_beside_the_parts(self) -> None:
        durable = DurableJournal()
        parts = parts_of(durable.journal())
        await start(parts, 0)
        parts.state["chat"] = {"id": 7}
        await parts.done(1)
        assert durable.saved["mynet"] == {"version": 1, "sent": [1], "in_flight": None, "chat": {"id": 7}}


class TestInFlight:
    async def test_the_index_is_saved_before_the_network_call(self) -> None:
        durable = DurableJournal()
        parts = parts_of(durable.journal())
        async with parts.attempt(0):
            assert durable.saved["mynet"]["in_flight"] == 0
        assert durable.saved["mynet"]["in_flight"] == 0
        await parts.done("m0")
        assert durable.saved["mynet"] == {"version": 1, "sent": ["m0"], "in_flight": None}

    async def test_a_refused_part_is_no_longer_in_flight(self) -> None:
        durable = DurableJournal()
        parts = parts_of(durable.journal())
        with pytest.raises(TransientDeliveryError):
            async with parts.attempt(0):
                raise TransientDeliveryError("mynet: 503")
        assert durable.saved["mynet"]["in_flight"] is None
        assert list(parts_of(durable.journal()).pending()) == [0, 1, 2]

    @pytest.mark.parametrize("error", [UnknownOutcome("mynet: read timeout"), ConnectionResetError()])
    async def test_a_lost_answer_leaves_the_part_in_flight(self, error: Exception) -> None:
        durable = DurableJournal()
        parts = parts_of(durable.journal())
        with pytest.raises(type(error)):
            async with parts.attempt(0):
                raise error
        assert durable.saved["mynet"]["in_flight"] == 0

    async def test_a_part_in_flight_is_never_resent_and_never_guessed_at(self) -> None:
        durable = DurableJournal()
        parts = parts_of(durable.journal())
        await start(parts, 0)
        await parts.done("m0")
        await start(parts, 1)
        message = (
            "mynet cannot tell whether part 2 of 3 of delivery d-1 was posted (1 part(s) before it are out); "
            f"{ADVICE}, then run `tagcast queue resolve d-1 --sent URL` or `--not-sent`"
        )
        after_crash = parts_of(durable.journal())
        with pytest.raises(UnknownOutcome) as pending:
            after_crash.pending()
        with pytest.raises(UnknownOutcome) as finished:
            after_crash.finished()
        assert str(pending.value) == str(finished.value) == message

    async def test_done_without_a_part_in_flight_is_a_bug(self) -> None:
        with pytest.raises(RuntimeError, match="without a part in flight"):
            await parts_of(Journal(state={})).done("m0")


class TestProgress:
    async def test_pending_resumes_after_the_parts_sent(self) -> None:
        journal = Journal(state={"mynet": {"version": 1, "sent": ["m0"], "in_flight": None}})
        assert list(parts_of(journal).pending()) == [1, 2]

    async def test_finished_only_when_every_part_is_out(self) -> None:
        durable = DurableJournal()
        assert not parts_of(durable.journal()).finished()
        await send_all(durable)
        assert parts_of(durable.journal()).finished()
        assert list(parts_of(durable.journal()).pending()) == []

    @pytest.mark.parametrize(
        ("stored", "version"), [({"version": 2, "sent": [], "in_flight": None}, "2"), ([1], "None")]
    )
    def test_another_version_is_refused(self, stored: object, version: str) -> None:
        message = f"mynet: delivery d-1 has journal version {version}, this tagcast understands 1"
        with pytest.raises(PermanentDeliveryError, match=message):
            parts_of(Journal(state={"mynet": stored}))
