"""The one function that turns an article's images into the media of one post: :func:`prepare_media`.

Preview (:class:`~scheduler.pipeline.Pipeline`) and the send path (:class:`MediaPreparer`, right before
``adapter.publish``) both call it, so what is previewed is what is uploaded. It is deterministic, and cheap
the second time: downloads and processed files are cached in the workspace (``var/media``), keyed by URL and
by content hash + limits.

    cache = MediaCache(workspace.root)
    limits = BlueskyAdapter.channel_media_limits(settings)  # the network's, lowered by the channel's keys
    prepared = prepare_media(article, limits, settings, channel="bsky", cache=cache)
    prepared.media        # tuple[Media, ...]: each image fitted to Bluesky, in the article's order
    prepared.problems     # why the post cannot be sent as it is (missing alt text, a file gone, ...)
    prepared.left_out     # images not sent, and why (a network that takes none, a local file for Slack)

A network whose adapter declares ``media_limits = None`` takes no images: they are left out (and said so).
A network that fetches images itself from their address (``by_url``: Threads, Slack) is sent only the
article's https images, as they are; its local files are left out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scheduler.adapters.base import Outgoing
from scheduler.adapters.registry import load_adapter
from scheduler.articles.images import local_image_problems
from scheduler.config.loader import Workspace
from scheduler.config.models import ChannelSettings
from scheduler.errors import PermanentDeliveryError, TransientDeliveryError, UserError
from scheduler.lazy import httpx
from scheduler.media.addresses import AddressPolicy
from scheduler.media.channel_limits import lowering_keys
from scheduler.media.fetch import (
    DOWNLOAD_DEADLINE,
    MAX_DOWNLOAD_BYTES,
    ImageAddressRefused,
    ImageFetchError,
    fetch_image,
)
from scheduler.media.model import ImageRef, Media, MediaLimits
from scheduler.media.process import (
    ImageProblem,
    LastDecoded,
    OverByteLimit,
    Processed,
    describe_original,
    process_image,
)
from scheduler.models import Article

log = logging.getLogger("tagcast.media")

MEDIA_FOLDER = Path("var") / "media"
"""The media cache, relative to the workspace: ``downloads/`` (by URL), ``files/`` (processed, by content
hash), ``index/`` and ``sources/`` (what was processed from what)."""


class MediaCache:
    """Where images are read, downloaded and processed for one workspace (``root``).

    ``client`` is used for downloads (default: one httpx client per download, trusting the system's
    certificates or ``SSL_CERT_FILE``); each download is bounded by ``max_download_bytes`` and
    ``download_deadline`` seconds. ``keep_decoded`` keeps the last decoded image for the next network (the
    pipeline's: an article's posts are composed one after the other). ``addresses`` says where downloads may
    come from (default: public addresses only; :meth:`AddressPolicy.of` reads ``[media]``)."""

    def __init__(
        self,
        root: Path,
        *,
        folder: Path | None = None,
        client: httpx.Client | None = None,
        max_download_bytes: int = MAX_DOWNLOAD_BYTES,
        download_deadline: float = DOWNLOAD_DEADLINE,
        monotonic: Callable[[], float] = time.monotonic,
        keep_decoded: bool = False,
        addresses: AddressPolicy | None = None,
    ) -> None:
        self.root = root
        self.addresses = addresses
        self.last = LastDecoded() if keep_decoded else None
        self.folder = folder or root / MEDIA_FOLDER
        self.client = client
        self.max_download_bytes = max_download_bytes
        self.download_deadline = download_deadline
        self.monotonic = monotonic

    @classmethod
    def for_workspace(cls, workspace: Workspace, *, keep_decoded: bool = False) -> MediaCache:
        """The media cache of ``workspace``, downloading where its ``[media] private_addresses`` allows."""
        return cls(workspace.root, keep_decoded=keep_decoded, addresses=AddressPolicy.of(workspace.settings))

    def article_folder(self, article: Article) -> Path:
        """The folder of the article's file: a local image path is relative to it."""
        file = article.source.split("#", 1)[0]
        return Path(os.path.dirname(os.path.join(self.root, file)))

    def source_file(self, article: Article, ref: ImageRef) -> Path:
        """The image file itself: the local file, or the download of an https address (fetched once).
        Raises :class:`ImageFetchError` or :class:`ImageProblem`."""
        if is_remote(ref.src):
            return fetch_image(
                ref.src,
                folder=self.folder / "downloads",
                client=self.client,
                max_bytes=self.max_download_bytes,
                deadline=self.download_deadline,
                monotonic=self.monotonic,
                addresses=self.addresses,
            )
        folder = self.article_folder(article)
        problems = local_image_problems(ref.src, folder, self.root)
        if problems:
            message, hint = problems[0]
            raise ImageProblem(message, hint=hint)
        return folder / ref.src

    def media(
        self, article: Article, ref: ImageRef, limits: MediaLimits, *, max_bytes: int | None = None
    ) -> Media:
        """``ref`` fitted to ``limits`` (``max_bytes`` instead of ``limits.max_bytes``: a link card's thumb).
        Raises :class:`ImageFetchError` or :class:`ImageProblem`."""
        path = self.source_file(article, ref)
        if limits.by_url:
            processed = describe_original(path, folder=self.folder)
            budget = limits.max_bytes if max_bytes is None else max_bytes
            if processed.size > budget:
                raise ImageProblem(
                    f"has {processed.size:,} bytes; the network fetches it as it is and takes at most "
                    f"{budget:,}"
                )
        else:
            processed = process_image(path, limits, folder=self.folder, max_bytes=max_bytes, last=self.last)
        return _media(ref, processed)


def _media(ref: ImageRef, processed: Processed) -> Media:
    return Media(
        src=ref.src,
        alt=ref.alt or "",
        path=processed.path,
        mime=processed.mime,
        width=processed.width,
        height=processed.height,
        size=processed.size,
        sha256=processed.sha256,
    )


def is_remote(src: str) -> bool:
    return src.casefold().startswith("https://")


@dataclass(frozen=True, slots=True)
class PreparedMedia:
    """What :func:`prepare_media` found: the media to send, the problems of the post, the images left out
    (each with why), and whether a problem may go away by itself (a download that failed)."""

    media: tuple[Media, ...] = ()
    problems: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()
    retry: bool = False
    refused: tuple[str, ...] = ()
    """Images at an address that is not fetched (``[media] private_addresses``), also in ``left_out``."""


def _label(number: int, ref: ImageRef) -> str:
    src = ref.src if len(ref.src) <= 80 else ref.src[:77] + "..."
    return f"image {number} ({src})"


@dataclass(frozen=True, slots=True)
class LeftOut:
    """An image of the article that a post does not carry, and why."""

    number: int
    ref: ImageRef
    why: str

    def __str__(self) -> str:
        return f"{_label(self.number, self.ref)} left out: {self.why}"


def sent_images(
    article: Article, limits: MediaLimits | None, network: str, *, require_alt: bool = True
) -> tuple[list[tuple[int, ImageRef]], list[LeftOut]]:
    """The article's images that ``network`` is sent (numbered from 1), and those left out, with why
    (``require_alt``: the channel's; an optional image without alt text is left out where it is true)."""
    if limits is None:
        why = f"{network} takes no images"
        return [], [LeftOut(number, ref, why) for number, ref in enumerate(article.images, start=1)]
    kept: list[tuple[int, ImageRef]] = []
    left: list[LeftOut] = []
    for number, ref in enumerate(article.images, start=1):
        if limits.by_url and not is_remote(ref.src):
            left.append(LeftOut(number, ref, f"{network} takes only images at a public https address"))
        elif ref.optional and ref.alt is None and require_alt and limits.alt_max is not None:
            left.append(LeftOut(number, ref, "it has no alt text (require_alt = false sends it without)"))
        else:
            kept.append((number, ref))
    return kept, left


def left_out_notes(article: Article, media: Sequence[Media], network: str) -> list[str]:
    """Why each image of ``article`` that a post on ``network`` does not carry (``media``) is left out, for
    preview (computed from the article and the post, so no channel setting is needed)."""
    if not article.images:
        return []
    try:
        limits = load_adapter(network).media_limits
    except UserError:
        return []
    sent = {item.src for item in media}
    kept, left = sent_images(article, limits, network)
    notes = [str(item) for item in left if item.ref.src not in sent]  # not: require_alt = false sent it
    notes += [
        str(LeftOut(number, ref, "it could not be downloaded or read"))
        for number, ref in kept
        if ref.optional and ref.src not in sent
    ]
    return notes


def prepare_media(
    article: Article,
    limits: MediaLimits | None,
    settings: ChannelSettings,
    *,
    channel: str,
    cache: MediaCache,
) -> PreparedMedia:
    """The article's images as ``channel`` (on ``settings.network``, accepting ``limits``) will send them."""
    network = settings.network
    kept, left = sent_images(article, limits, network, require_alt=settings.require_alt)
    left_out = [str(item) for item in left]
    if limits is None or not kept:
        return PreparedMedia(left_out=tuple(left_out))
    problems: list[str] = []
    media: list[Media] = []
    retry = False
    refused: list[str] = []
    at_most = _bounds(limits, settings, channel=channel)
    if len(article.images) > limits.max_images:
        problems.append(f"{len(article.images)} images; {at_most('max_images', limits.max_images)}")
    for number, ref in kept:
        label = _label(number, ref)
        if limits.alt_max is not None:
            if ref.alt is None and settings.require_alt:
                problems.append(
                    f"{label}: no alt text; describe the image with image_alt (or alt in images), "
                    f"or set require_alt = false on channel {channel}"
                )
            elif ref.alt is not None and (length := limits.alt_length(ref.alt)) > limits.alt_max:
                problems.append(
                    f"{label}: the alt text has {length:,} {limits.alt_unit}; "
                    f"{at_most('alt_max', limits.alt_max)}: shorten it"
                )
        try:
            media.append(cache.media(article, ref, limits))
            continue
        except ImageAddressRefused as exc:  # never sent, never a failed post: the text still goes
            why = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
            refused.append(f"{label}: {why}")
            left_out.append(f"{label} left out: {why}")
            continue
        except ImageFetchError as exc:
            problem, transient = f"{label}: {exc.message}", True
        except ImageProblem as exc:
            verb = exc.message.startswith(("is ", "has ", "cannot "))  # "image 1 (a.jpg) is not an image"
            problem = f"{label}{' ' if verb else ': '}{exc.message}" + (f"; {exc.hint}" if exc.hint else "")
            if isinstance(exc, OverByteLimit) and (set_by := at_most.keys.get("max_bytes")):
                problem += f", the most channel {channel} takes ({set_by} in [channels.{channel}])"
            transient = False
        if ref.optional:
            left_out.append(f"{problem} (left out: the post goes without it)")
        else:
            problems.append(problem)
            retry = retry or transient
    return PreparedMedia(tuple(media), tuple(problems), tuple(left_out), retry, tuple(refused))


class _Bounds:
    """How a preview problem names a limit of ``channel``: the network's (``mastodon takes at most 4
    (channel masto)``), or the channel key's that lowered it (``channel masto takes at most 2 (max_images in
    [channels.masto])``), found by comparing with the network's own :attr:`Adapter.media_limits`."""

    def __init__(self, network: str, channel: str, keys: dict[str, str]) -> None:
        self.network = network
        self.channel = channel
        self.keys = keys
        """:class:`MediaLimits` field -> the channel key that set it (:func:`lowering_keys`)."""

    def __call__(self, field: str, value: int) -> str:
        key = self.keys.get(field)
        if key is None:
            return f"{self.network} takes at most {value:,} (channel {self.channel})"
        return f"channel {self.channel} takes at most {value:,} ({key} in [channels.{self.channel}])"


def _bounds(limits: MediaLimits, settings: ChannelSettings, *, channel: str) -> _Bounds:
    try:
        network_limits = load_adapter(settings.network).media_limits
    except UserError:  # an adapter that is not installed: its limits are the ones given
        network_limits = None
    return _Bounds(settings.network, channel, lowering_keys(limits, settings, network_limits))


class MediaPreparer:
    """The send path's ``prepare``: fills ``Outgoing.media`` right before ``adapter.publish``, in a worker
    thread (Pillow and downloads never run on the event loop or the store thread).

    ``workspace`` is called each time, so a reloaded config is used. A problem that may go away (a download)
    is a :class:`TransientDeliveryError` (retried later); any other (alt text missing, file gone) a
    :class:`PermanentDeliveryError`, so a post is never sent without the images it was previewed with."""

    def __init__(self, workspace: Callable[[], Workspace], *, cache: MediaCache | None = None) -> None:
        self.workspace = workspace
        self._cache = cache

    def cache(self) -> MediaCache:
        if self._cache is None:
            self._cache = MediaCache.for_workspace(self.workspace())
        return self._cache

    async def __call__(self, outgoing: Outgoing) -> Outgoing:
        if not outgoing.article.images:
            return outgoing
        settings = self.workspace().settings.channels[outgoing.channel]
        try:
            limits = load_adapter(settings.network).channel_media_limits(settings)
        except UserError as exc:  # the config check refuses such a config: a last guard
            raise PermanentDeliveryError(f"channels.{outgoing.channel}: {exc.message}") from None
        prepared = await asyncio.to_thread(
            prepare_media, outgoing.article, limits, settings, channel=outgoing.channel, cache=self.cache()
        )
        for refusal in prepared.refused:
            log.warning(
                "%s: %s: %s; the post goes without it", outgoing.channel, outgoing.article.source, refusal
            )
        if prepared.problems:
            why = "; ".join(prepared.problems)
            raise TransientDeliveryError(why) if prepared.retry else PermanentDeliveryError(why)
        return dataclasses.replace(outgoing, media=prepared.media)


THUMB_LIMITS = MediaLimits(max_bytes=1_000_000, mimes=("image/jpeg", "image/png"), alt_max=None)
"""What a link card's thumbnail is fitted to; its byte bound is the network's ``card_thumb_bytes``."""


class ThumbFitter:
    """The thumb fitter of link cards (:data:`scheduler.media.cards.ThumbFitter`): fits ``src`` (an https
    address, or a file of the workspace) to ``max_bytes`` with the same processing and cache as a post's
    images, in a worker thread. Raises :class:`ImageFetchError` or :class:`ImageProblem` (the card then goes
    without its thumbnail, with a warning)."""

    def __init__(self, cache: MediaCache) -> None:
        self.cache = cache

    async def __call__(self, src: str, max_bytes: int) -> Media | None:
        return await asyncio.to_thread(self.fit, src, max_bytes)

    def fit(self, src: str, max_bytes: int) -> Media:
        if "://" in src and not is_remote(src):
            raise ImageProblem("only https:// images are fetched")
        if not is_remote(src) and os.path.isabs(src):
            src = os.path.relpath(src, self.cache.root)  # shown, and checked, relative to the workspace
        workspace_file = Article(source="link-card", title="", body="")  # a path is relative to the root
        return self.cache.media(workspace_file, ImageRef(src, alt=""), THUMB_LIMITS, max_bytes=max_bytes)
