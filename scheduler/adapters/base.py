"""The adapter contract: one module per network implements :class:`Adapter`.

An adapter turns a fitted post into network calls and the network's answer into a :class:`Receipt`. It never
decides about retries: it raises :class:`~scheduler.errors.TransientDeliveryError` (with ``retry_after``),
:class:`~scheduler.errors.PermanentDeliveryError` / :class:`~scheduler.errors.AuthError`, or
:class:`~scheduler.errors.UnknownOutcome`, and the dispatcher acts on the type.

Exactly once: anything an adapter must remember across a crash (a Bluesky record key, a Threads container id,
the ids of the thread parts already sent) goes into ``journal.state`` and is saved with ``await
journal.save()``
*before* the network call that depends on it. After a crash the dispatcher calls :meth:`Adapter.reconcile`
with the
same journal.

Third-party adapters register in the ``tagcast.adapters`` entry-point group::

    [project.entry-points."tagcast.adapters"]
    mynet = "tagcast_mynet:MyNetAdapter"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

from scheduler.adapters.http import QuotaHeaders, RequestGuard
from scheduler.adapters.tokens import TokenExpiry
from scheduler.config.models import ChannelSettings
from scheduler.config.redact import Redactor
from scheduler.errors import UnknownOutcome
from scheduler.lazy import httpx
from scheduler.length import LengthRules
from scheduler.length.networks import NO_PRACTICAL_LIMIT, Unit
from scheduler.media.model import Card, Media, MediaLimits
from scheduler.models import Article

TextEntities = Literal["twitter-text", "mastodon", "links-only", "facets"]
"""How a network finds links, hashtags and mentions in a post's text (:attr:`Adapter.text_entities`)."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the network answered: the remote id of each part (in order) and the public URL of the first."""

    remote_ids: tuple[str, ...]
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    pause_for: float | None = None
    """Seconds the channel must wait before its next post, because this one used up a rate-limit quota
    (:func:`scheduler.adapters.http.quota_pause`). None: the channel goes on."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a channel posts as, from :meth:`Adapter.check`."""

    account: str
    url: str | None = None
    detail: str | None = None
    token: TokenExpiry | None = None
    """When the token expires, where the API says it (recorded by ``channels test``)."""
    advice: tuple[str, ...] = ()
    """Settings the channel should change, one line each, e.g. where the server takes less than the channel
    is set to send (``channels test`` prints them)."""


@dataclass(slots=True)
class Journal:
    """Adapter state that must survive a crash; ``save`` writes it durably (to the outbox row)."""

    state: dict[str, Any]
    saver: Callable[[dict[str, Any]], Awaitable[None]] | None = None

    async def save(self) -> None:
        if self.saver is not None:
            await self.saver(self.state)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One delivery as an adapter sees it: the exact parts previewed, and a key that is the same on every
    retry."""

    delivery_id: str
    idempotency_key: str
    parts: tuple[str, ...]
    article: Article
    channel: str
    media: tuple[Media, ...] = ()
    """The images to upload with the first part, fitted to the network (see :mod:`scheduler.media`)."""
    card: Card | None = None
    """The link card to attach to the first part (a network that shows none ignores it)."""


class Adapter(ABC):
    """Base class of every network adapter (checked with ``issubclass`` when loaded)."""

    network: ClassVar[str]
    """The entry-point name, e.g. ``"mastodon"``."""

    supports_threads: ClassVar[bool] = True

    max_parts: ClassVar[int | None] = None
    """The most parts one post can have on this network, or None for no limit. ``1``: the network posts
    one part only (no reply chain, no series of messages), so a post fitted into several is a problem at
    preview and check time, not only when it is sent."""

    media_limits: ClassVar[MediaLimits | None] = None
    """What the network accepts for images (:class:`~scheduler.media.MediaLimits`); ``None``: it takes
    none, and an article's images are left out of its posts."""

    # --- what the network accepts as text: read by length_rules(), override them there ---
    max_length: ClassVar[int] = NO_PRACTICAL_LIMIT
    """The network's limit on one post, in ``length_unit``, when the channel sets no ``limit``."""
    length_unit: ClassVar[Unit] = "characters"
    """What ``max_length`` counts: ``"characters"`` (code points), ``"graphemes"``, ``"utf16"``,
    ``"utf8"`` or ``"weighted"`` (X's weights)."""
    max_text_bytes: ClassVar[int | None] = None
    """A second limit in UTF-8 bytes (Bluesky's 3000), or None."""
    refuses_empty: ClassVar[bool] = False
    """Whether the server refuses a post whose text is empty or blank."""
    max_links: ClassVar[int | None] = None
    """The most distinct links one post may hold (Threads: 5), or None."""
    refused_characters: ClassVar[str] = ""
    """Characters the server refuses anywhere in a text (X: U+FFFE, U+FEFF, U+FFFF)."""

    secrets: ClassVar[tuple[str, ...]] = ()
    """The channel keys that hold this network's credentials, e.g. ``("token",)``. Each comes from
    ``TAGCAST_CHANNELS__<NAME>__<KEY>`` (:func:`scheduler.config.credentials.secret_env_var`), the ``.env``
    file or ``<key>_file``, never the TOML file; ``channels add`` and ``init`` name them, and a rejected
    credential's message tells which to fix."""

    settings_keys: ClassVar[frozenset[str] | None] = None
    """The keys of ``[channels.NAME]`` this network reads besides those every channel has
    (:data:`~scheduler.adapters.channel_keys.EVERY_CHANNEL_KEYS`: ``network``, ``schedule``, ``limit``,
    ``options``, ...) and its :attr:`secrets` (with their ``<key>_file`` forms), e.g.
    ``frozenset({"base_url", "handle"})``; a secret key listed here counts with its ``_file`` form too.
    ``tagcast config validate`` warns about any other key a channel of this network sets, because the
    adapter ignores it. ``None`` (the default): not declared, and nothing is checked."""

    quota_headers: ClassVar[QuotaHeaders] = ()
    """Rate-limit header families the network sends besides the common ones
    (:data:`~scheduler.adapters.http.COMMON_QUOTA_HEADERS`), each ``(remaining header, reset header)``, e.g.
    X's ``("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset")``. Requests sent with
    :attr:`guard` wait for their reset after a 429, and :func:`~scheduler.adapters.http.quota_pause` (given
    them) pauses the channel when one is used up."""

    # --- how the network shows a post's text: read by the HTML preview (scheduler.web.entities) ---
    text_entities: ClassVar[TextEntities] = "twitter-text"
    """How the network finds links, hashtags and mentions in a text, so the preview links what the network
    will: ``"twitter-text"`` (URLs with or without a scheme, ``#tags``, ``@user``: X and most),
    ``"mastodon"`` (URLs with a scheme only, ``#tags``, ``@user`` and ``@user@domain``), ``"links-only"``
    (URLs with a scheme; ``#word`` and ``@user`` stay text: Discord, Slack) or ``"facets"`` (Bluesky's link
    and tag facets, :func:`scheduler.facets.detect_facets`)."""
    hashtag_url: ClassVar[str | None] = None
    """The page of a hashtag on the network: ``{tag}`` is the tag's URL-quoted name, ``{server}`` the
    channel's ``base_url`` (``"https://x.com/hashtag/{tag}"``, Mastodon's ``"{server}/tags/{tag}"``). None:
    the preview marks the hashtag without linking out."""
    mention_url: ClassVar[str | None] = None
    """The page of an ``@user`` mention: ``{user}`` is the URL-quoted name, ``{server}`` the mention's own
    server (``@user@domain``) or else the channel's ``base_url`` (``"https://x.com/{user}"``, Mastodon's
    ``"{server}/@{user}"``); a template without ``{server}`` links only mentions without a domain. None:
    mentions stay text."""

    builds_link_card: ClassVar[bool] = False
    """True for a network that builds no link card from a URL itself, so tagcast sends one (channel key
    ``link_card``, :mod:`scheduler.media.cards`). Unless a class sets it, it is true exactly when its
    ``media_limits`` bound a card thumbnail (``card_thumb_bytes``: Bluesky)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "builds_link_card" not in cls.__dict__:
            limits = cls.media_limits
            cls.builds_link_card = limits is not None and limits.card_thumb_bytes is not None

    def __init__(
        self, channel: str, settings: ChannelSettings, *, http: httpx.AsyncClient, root: Path
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.http = http
        self.root = root

    @cached_property
    def guard(self) -> RequestGuard:
        """What every request of this channel is held to (pass it to :func:`~scheduler.adapters.http.send`):
        the channel's ``request_deadline`` and ``max_response_bytes``, and the masking of its secrets in
        every message, before any cut."""
        return RequestGuard(
            deadline=self.settings.request_deadline.total_seconds(),
            max_bytes=self.settings.max_response_bytes,
            redact=Redactor.for_channel(self.settings),
            explain=type(self).error_text,
            wait_in_body=type(self).body_retry_after,
            quota_headers=type(self).quota_headers,
        )

    @classmethod
    def length_rules(cls, settings: ChannelSettings, *, media: bool = False) -> LengthRules:
        """How the network counts, with the channel's ``limit`` applied. No network call. ``media``: the
        post carries images (a network whose caption limit is shorter overrides this to apply it).

        The one place the pipeline, preview, ``fit`` and :func:`~scheduler.adapters.http.refuse_over_length`
        learn a network's length rules. The default builds them from the class attributes above; a network
        that counts in its own way overrides it, e.g. Mastodon, whose content warning counts too::

            @classmethod
            def length_rules(cls, settings, *, media=False):
                warning = settings.spoiler_text or ""
                rules = super().length_rules(settings, media=media)
                return replace(rules, counter=partial(mastodon_length, spoiler_text=warning),
                               spoiler_text=warning)
        """
        return LengthRules(
            network=cls.network,
            limit=cls.max_length if settings.limit is None else settings.limit,
            unit=cls.length_unit,
            byte_limit=cls.max_text_bytes,
            refuses_empty=cls.refuses_empty,
            max_links=cls.max_links,
            refused_characters=cls.refused_characters,
        )

    @classmethod
    def channel_media_limits(cls, settings: ChannelSettings) -> MediaLimits | None:
        """What the network takes for images from the channel with ``settings``: :attr:`media_limits`, or
        less where the channel says its server takes less. No network call. The one place preview, the send
        path and :meth:`publish` learn a channel's image limits. The default ignores the channel; Mastodon
        applies its keys (``max_images``, ``image_max_bytes``, ``image_max_pixels``, ``alt_max``,
        ``image_types``) with :func:`scheduler.media.channel_limits.lowered_limits`, which raises a
        :class:`~scheduler.errors.ConfigError` naming a key set above the network's own limit."""
        return cls.media_limits

    @classmethod
    def error_text(cls, body: Any) -> str | None:
        """The network's own explanation in a decoded JSON error ``body`` (any JSON value), or None to let
        :func:`~scheduler.adapters.http.error_reason` read it the common way (``{"error": e, "message": m}``,
        ``{"message": m, "code": c}``, ``{"errors": [{"message": m}]}``, plain text). Every error this
        channel's requests get goes through it (:attr:`guard`), so a network with its own error shape
        overrides it; :func:`~scheduler.adapters.http.error_reason` masks secrets and shortens the result."""
        return None

    @classmethod
    def body_retry_after(cls, body: Any) -> float | None:
        """Seconds to wait that a decoded JSON error ``body`` names (Discord's ``retry_after``), or None.
        Counted with the ``Retry-After`` and rate-limit headers, the longest wait winning
        (:func:`~scheduler.adapters.http.retry_after`); a network that puts its wait in the body overrides
        it."""
        return None

    @abstractmethod
    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        """Send every part (a reply chain for several) and return the receipt."""

    @abstractmethod
    async def check(self) -> Identity:
        """Verify the credentials without posting; raise AuthError saying exactly what is wrong."""

    async def token_expiry_state(self) -> TokenExpiry | None:
        """When the channel's token expires and whether tagcast refreshes it, asking the API where it can;
        ``None`` when unknown (the default: the network's tokens do not expire, or it does not say). Asked by
        ``tagcast serve`` once a day for ``[alerts] token_warning``."""
        return None

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        """After a crash during :meth:`publish`: the receipt if the post is out, ``None`` if it surely is not.

        It may also be asked about a delivery whose :meth:`publish` never started (its worker died between
        the claim and the send): its journal is as it was, and an override must then answer ``None`` (or send
        it, as a re-POST with the same idempotency key does).

        The default, for networks that cannot tell, raises UnknownOutcome: the operator decides.
        """
        raise UnknownOutcome(
            f"{self.network} cannot tell whether delivery {post.delivery_id} was posted; check the account, "
            f"then run `tagcast queue resolve {post.delivery_id} --sent URL` or `--not-sent`"
        )
