"""The adapter contract: what every adapter must do, run by ``test_contract.py`` over every adapter case.

Adding an adapter to the suite
------------------------------
Write ``tests/adapters/cases_<network>.py`` with a module-level list ``CASES`` of :class:`AdapterCase`.
``test_contract.py`` imports every ``cases_*.py`` module in this folder and runs each test for each case; no
other file changes. A case names the network (the adapter is loaded through the entry-point registry, like in
production) and knows how to start its fake and read back what the fake published::

    # tests/adapters/cases_mynet.py
    from __future__ import annotations

    from collections.abc import Iterator
    from contextlib import contextmanager
    from pathlib import Path

    from pydantic import SecretStr

    from scheduler.config.models import ChannelSettings

    from fakes.mynet import MyNetFake
    from .contract import AdapterCase, Deployment, SentPost


    @contextmanager
    def deploy(root: Path) -> Iterator[Deployment]:
        with MyNetFake(token="good").running() as fake:
            yield Deployment(
                settings=ChannelSettings(network="mynet", base_url=fake.base_url, token=SecretStr("good")),
                bad_settings=ChannelSettings(network="mynet", base_url=fake.base_url, token=SecretStr("bad")),
                posts=lambda: [SentPost(p.id, p.text, p.reply_to) for p in fake.posts],
                fake=fake,
                root=root,
            )


    CASES = [AdapterCase("mynet", deploy, publish_path=r"/api/posts$", idempotent=False)]

Images: every case whose adapter declares ``media_limits`` runs the image tests, so its deployment reads
back each post's images (``SentPost.media``: a :class:`SentImage` per image, as the server stored it: the
sha256 of its bytes, or the URL a by-URL network was given, and its alt text) and, where the network takes
images as separate uploads, counts them (``Deployment.uploads``). The images go with the first part only, once
each; more than the network takes, an alt text over its bound, or an image over ``max_pixels`` or
``max_side``, is refused before any request; a retry
after a failed post reuses the uploads; after a lost answer a restarted adapter never uploads again (and says
it cannot know on a non-idempotent network). Build test images with ``tests/media_files.py``.

What the suite checks (see ``test_contract.py``): a single post; a thread as a reply chain, one remote id per
part; ``check()`` names the account; rejected credentials raise AuthError and post nothing; a 429 raises
TransientDeliveryError whose ``retry_after`` covers the announced reset, the adapter sends nothing more
itself, and the retry posts once; a 5xx raises TransientDeliveryError and the retry posts once; a lost answer
(timeout, or "commit then crash") raises TransientDeliveryError on an ``idempotent`` network and
UnknownOutcome on others; an over-length part is refused before any request; a failed later part never reposts
the earlier ones; after a crash, :meth:`Adapter.reconcile` on a fresh adapter with the saved journal ends with
exactly one post (``idempotent``) or raises UnknownOutcome without resending. Fault tests skip for a case
without a fake.

The journal given to adapters is :class:`DurableJournal`: ``reconcile`` sees only what was *saved*, and the
saved state must be JSON. A ``cases_*`` module that fails to import fails ``test_cases_module_imports`` and
the other cases still run. ``AdapterCase.skip`` maps a test function name to the reason it does not apply.
Fakes are built on :mod:`fakes.server` (``FakeServer``, ``route``, ``Reply``, ``fake.faults``); import them as
``fakes.<name>`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fakes.server import FakeServer

from scheduler.adapters.base import Adapter, Journal, Outgoing
from scheduler.adapters.registry import load_adapter
from scheduler.config.models import ChannelSettings
from scheduler.errors import DeliveryError
from scheduler.media.model import ImageRef, Media
from scheduler.models import Article

CHANNEL = "main"
CLIENT_TIMEOUT = 1.5
"""Seconds the test client waits for an answer; the timeout fault sits on a request far longer."""


@dataclass(frozen=True)
class SentImage:
    """One image of a post as the fake stored it: the sha256 of the bytes it received (``None`` for a network
    given a URL), the URL it was given (``None`` for an upload), and the alt text (``None``: no alt field)."""

    sha256: str | None
    url: str | None = None
    alt: str | None = None

    @classmethod
    def of(cls, data: bytes, alt: str | None = None) -> SentImage:
        """The image a fake received as ``data`` (bytes), with its alt text."""
        return cls(hashlib.sha256(data).hexdigest(), alt=alt)


@dataclass(frozen=True)
class SentPost:
    """One post as the fake stored it: its remote id, text, the id it replies to, and its images."""

    id: str
    text: str
    reply_to: str | None = None
    media: tuple[SentImage, ...] = ()


@dataclass
class Deployment:
    """A running fake (or none) and the channel settings that point at it."""

    settings: ChannelSettings
    bad_settings: ChannelSettings
    posts: Callable[[], list[SentPost]]
    fake: FakeServer | None
    root: Path
    uploads: Callable[[], int] | None = None
    """How many images the fake has received as uploads of their own (Mastodon's media, Bluesky's blobs, X's
    media); ``None``: the network takes the images inside the post's own request, or by URL."""


@dataclass(frozen=True)
class AdapterCase:
    """One adapter configuration under contract.

    ``network``: the entry-point name. ``deploy(tmp_path)``: a context manager yielding a :class:`Deployment`.
    ``publish_path``: regex of the path of the request that creates a post (faults target it).
    ``media_publish_path``: the same for a post with several images, when it differs (Facebook uploads them
    to ``/photos`` first, then posts to ``/feed``); default ``publish_path``.
    ``idempotent``: a resend after a lost answer cannot duplicate (Mastodon's Idempotency-Key, Bluesky's
    rkey); otherwise a lost answer must become UnknownOutcome. ``reply_chain``: a thread is posted as replies
    with one remote id per part. ``over_length``: a text the network refuses (default: ``"a"`` one past the
    adapter's limit). ``skip``: test function names to skip for this case, each with the reason.
    """

    network: str
    deploy: Callable[[Path], AbstractContextManager[Deployment]]
    publish_path: str = ""
    media_publish_path: str | None = None
    idempotent: bool = False
    reply_chain: bool = True
    over_length: str | None = None
    label: str | None = None
    skip: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.label or self.network

    def adapter_class(self) -> type[Adapter]:
        return load_adapter(self.network)

    def build(self, deployment: Deployment, client: httpx.AsyncClient, *, bad: bool = False) -> Adapter:
        settings = deployment.bad_settings if bad else deployment.settings
        return self.adapter_class()(CHANNEL, settings, http=client, root=deployment.root)

    def too_long(self, settings: ChannelSettings) -> str:
        if self.over_length is not None:
            return self.over_length
        return "a" * (self.adapter_class().length_rules(settings).limit + 1)


class DurableJournal:
    """The outbox row's journal column: ``journal()`` hands out the last *saved* state, as after a restart."""

    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}
        self.saves = 0

    async def _save(self, state: dict[str, Any]) -> None:
        json.dumps(state)
        self.saved = copy.deepcopy(state)
        self.saves += 1

    def journal(self) -> Journal:
        return Journal(state=copy.deepcopy(self.saved), saver=self._save)


def fresh() -> Journal:
    """A journal for a delivery that has never been attempted (its saves go nowhere)."""
    return DurableJournal().journal()


def outgoing(
    parts: list[str] | tuple[str, ...], *, delivery_id: str = "d-1", media: tuple[Media, ...] = ()
) -> Outgoing:
    """A delivery as the dispatcher hands it over; the key is the same on every retry of one delivery.
    ``media``: the processed images of the first part (build them with ``media_files.image_media``)."""
    article = Article(
        source="posts/contract.md",
        title="Contract",
        body=" ".join(parts),
        images=tuple(ImageRef(m.src, m.alt) for m in media),
    )
    return Outgoing(
        delivery_id=delivery_id,
        idempotency_key=f"tagcast-{delivery_id}",
        parts=tuple(parts),
        article=article,
        channel=CHANNEL,
        media=media,
    )


def client() -> httpx.AsyncClient:
    """The shared client as the dispatcher builds it, with a short timeout for the tests."""
    return httpx.AsyncClient(timeout=httpx.Timeout(CLIENT_TIMEOUT))


SINGLE = "Contract single post #TagCast https://example.com/article"
THREAD = ("1/3 The first part #TagCast", "2/3 The second part", "3/3 The third part https://example.com/t")


def shown(error: DeliveryError) -> tuple[str, ...]:
    """Every way a delivery error reaches a person: its text, its repr, its reason and its traceback (a
    secret must be in none of them)."""
    return (str(error), repr(error), error.reason, "".join(traceback.format_exception(error)))


def network_fault(fake: FakeServer, kind: str, **where: Any) -> None:
    """Script on ``fake`` the fault of a failure every network has, by the name the secret tests give it:
    ``rate-limited`` (a 429 asking for one second), ``server-error`` (500), ``timeout``, ``dropped`` and
    ``committed-then-dropped``, for the next request matching ``where``; another ``kind`` scripts nothing."""
    faults: dict[str, Callable[[], None]] = {
        "rate-limited": lambda: fake.faults.rate_limited(wait=1, **where),
        "server-error": lambda: fake.faults.server_error(status=500, **where),
        "timeout": lambda: fake.faults.timeout(**where),
        "dropped": lambda: fake.faults.drop(**where),
        "committed-then-dropped": lambda: fake.faults.commit_then_drop(**where),
    }
    faults.get(kind, lambda: None)()
