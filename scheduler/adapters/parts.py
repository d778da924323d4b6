"""The parts journal of adapters whose network has no idempotency key (Telegram, Discord, Slack).

A post is sent one part at a time. Before each POST the part's index is saved as ``in_flight`` (``await
journal.save()`` commits it before the network call); after the answer the part joins ``sent`` and
``in_flight`` is cleared. A retry resumes after the parts sent; a part still in flight may or may not be out,
so the delivery is :class:`~scheduler.errors.UnknownOutcome` and the part is never resent automatically.

The state lives in ``journal.state[network]`` as ``{"version": 1, "sent": [...], "in_flight": null}``, where
``sent`` holds what the network answered for each part (its message id), or only their count for a network
that answers none (``keep_ids=False``)::

    parts = PartsJournal(journal, post, network="discord", advice="webhooks have no idempotency key: check …")
    for index in parts.pending():
        async with parts.attempt(index):
            message = await post_part(post.parts[index])
        await parts.done(message["id"])
    return Receipt(remote_ids=tuple(parts.sent))
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from scheduler.adapters.base import Journal, Outgoing, Receipt
from scheduler.errors import DeliveryError, PermanentDeliveryError, UnknownOutcome

VERSION = 1
"""The format of the stored state; a journal of another version is refused, never guessed at."""


def receipt_of_parts(parts: Sequence[Mapping[str, Any]], *, pause_for: float | None = None) -> Receipt:
    """The receipt of a post whose parts the network answered each with an ``id`` and a ``url``: every id,
    the first part's URL, and every URL in ``extra["urls"]``."""
    return Receipt(
        remote_ids=tuple(part["id"] for part in parts),
        url=parts[0]["url"] if parts else None,
        extra={"urls": [part["url"] for part in parts]},
        pause_for=pause_for,
    )


class PartsJournal:
    """One delivery's progress through its parts, kept in ``journal.state[network]``.

    ``advice`` ends the UnknownOutcome message of a part in flight: why the network cannot tell, and where
    the operator should look (``"webhooks have no idempotency key: check the channel"``). With ``keep_ids``
    false ``sent`` is stored as a count. A journal of another :data:`VERSION` raises PermanentDeliveryError.
    ``state`` is the adapter's dict in the journal: an adapter may keep its own keys next to the parts'.
    """

    def __init__(
        self, journal: Journal, post: Outgoing, *, network: str, advice: str, keep_ids: bool = True
    ) -> None:
        self.journal = journal
        self.post = post
        self.network = network
        self.advice = advice
        self.state = self._load(keep_ids)

    def _load(self, keep_ids: bool) -> dict[str, Any]:
        state = self.journal.state.get(self.network)
        if state is None:
            sent: list[Any] | int = [] if keep_ids else 0
            state = self.journal.state[self.network] = {"version": VERSION, "sent": sent, "in_flight": None}
        if not isinstance(state, dict) or state.get("version") != VERSION:
            version = state.get("version") if isinstance(state, dict) else None
            raise PermanentDeliveryError(
                f"{self.network}: delivery {self.post.delivery_id} has journal version {version!r}, "
                f"this tagcast understands {VERSION}"
            )
        return state

    @property
    def in_flight(self) -> int | None:
        """The index of the part whose POST was started and not answered, if any."""
        index = self.state["in_flight"]
        return None if index is None else int(index)

    @property
    def count(self) -> int:
        """How many parts are out, in order from the first."""
        sent = self.state["sent"]
        return len(sent) if isinstance(sent, list) else int(sent)

    @property
    def sent(self) -> list[Any]:
        """What the network answered for each part out, in order; empty when the journal only counts."""
        sent = self.state["sent"]
        return sent if isinstance(sent, list) else []

    def pending(self) -> range:
        """The indexes of the parts still to send; UnknownOutcome when a part is in flight."""
        self._settled()
        return range(self.count, len(self.post.parts))

    def finished(self) -> bool:
        """Whether every part is out; UnknownOutcome when a part is in flight (for ``reconcile``)."""
        self._settled()
        return self.count >= len(self.post.parts)

    @asynccontextmanager
    async def attempt(self, index: int) -> AsyncIterator[None]:
        """Around the POST of part ``index``: saves it as in flight first; a DeliveryError that says the
        part is surely not out clears it again (an UnknownOutcome, or any other error, leaves it in flight).
        """
        self.state["in_flight"] = index
        await self.journal.save()
        try:
            yield
        except UnknownOutcome:
            raise
        except DeliveryError:
            self.state["in_flight"] = None
            await self.journal.save()
            raise

    async def done(self, remote: Any = None) -> None:
        """The part in flight is out: keep ``remote`` (its message id, JSON) or count it, and save."""
        index = self.in_flight
        if index is None:
            raise RuntimeError(f"{self.network}: done() without a part in flight")
        if isinstance(self.state["sent"], list):
            self.state["sent"].append(remote)
        else:
            self.state["sent"] = index + 1
        self.state["in_flight"] = None
        await self.journal.save()

    def _settled(self) -> None:
        index = self.in_flight
        if index is None:
            return
        delivery_id = self.post.delivery_id
        raise UnknownOutcome(
            f"{self.network} cannot tell whether part {index + 1} of {len(self.post.parts)} of delivery "
            f"{delivery_id} was posted ({self.count} part(s) before it are out); {self.advice}, then run "
            f"`tagcast queue resolve {delivery_id} --sent URL` or `--not-sent`"
        )
