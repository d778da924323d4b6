"""What an adapter checks of a post's images before it sends anything (as ``refuse_over_length`` does for
text): the preview already reported an image that does not fit, so one that reaches an adapter anyway is
refused with :class:`~scheduler.errors.PermanentDeliveryError`, never cut or half sent."""

from __future__ import annotations

import logging

from scheduler.errors import PermanentDeliveryError
from scheduler.media.model import Card, Media, MediaLimits

log = logging.getLogger("tagcast.adapters.media")


def refuse_unfit_media(
    limits: MediaLimits | None, media: tuple[Media, ...], card: Card | None = None, *, network: str
) -> None:
    """Raise PermanentDeliveryError naming every image the network would refuse, before anything is sent.

    The media stage fits images to :class:`~scheduler.media.MediaLimits` already; this is the adapter's
    last guard (like :func:`~scheduler.adapters.http.refuse_over_length` for text), so that a post never
    goes out half made: too many images, one of too many bytes or pixels (``max_pixels``, ``max_side``: an
    image from a third-party ``prepare``, or fitted before a channel's limit was lowered), of a type the
    network does not take, or an alt text over the network's bound. A card's thumbnail is held to
    ``card_thumb_bytes``.
    """
    if not media and (card is None or card.thumb is None):
        return
    if limits is None:
        raise PermanentDeliveryError(
            f"{network}: this network takes no images, but the post has {len(media)}"
        )
    problems: list[str] = []
    if len(media) > limits.max_images:
        problems.append(f"{len(media)} images, at most {limits.max_images}")
    for number, item in enumerate(media, start=1):
        where = f"image {number} ({item.src})"
        if item.size > limits.max_bytes:
            problems.append(f"{where} has {item.size} bytes, at most {limits.max_bytes}")
        pixels = item.width * item.height
        if limits.max_pixels is not None and pixels > limits.max_pixels:
            problems.append(
                f"{where} has {pixels} pixels ({item.width}x{item.height}), at most {limits.max_pixels}"
            )
        if limits.max_side is not None and max(item.width, item.height) > limits.max_side:
            problems.append(
                f"{where} is {item.width}x{item.height} pixels, at most {limits.max_side} on its longer side"
            )
        if item.mime not in limits.mimes and not limits.by_url:  # fetched by URL: the network reads it
            problems.append(f"{where} is {item.mime}, the network takes {', '.join(limits.mimes)}")
        if limits.alt_max is not None and (length := limits.alt_length(item.alt)) > limits.alt_max:
            alt = (
                f"{length} {limits.alt_unit} of alt text, at most {limits.alt_max}; shorten it in the article"
            )
            problems.append(f"{where} has {alt}")
    thumb = card.thumb if card is not None else None
    if thumb is not None and limits.card_thumb_bytes is not None and thumb.size > limits.card_thumb_bytes:
        problems.append(
            f"the card thumbnail ({thumb.src}) has {thumb.size} bytes, at most {limits.card_thumb_bytes}"
        )
    if problems:
        raise PermanentDeliveryError(
            f"{network}: the images do not fit, nothing was sent: {'; '.join(problems)}"
        )


def public_images(media: tuple[Media, ...], *, network: str, channel: str) -> tuple[Media, ...]:
    """The images a network that fetches images by URL can show: those whose ``src`` is an https URL. Each
    other one is left out with a warning naming it (the preview says so too: ``MediaLimits.by_url``)."""
    public = tuple(item for item in media if item.src.startswith("https://"))
    for item in media:
        if item not in public:
            log.warning(
                "%s channel %s: image %s is left out: %s shows only images from a public https URL",
                network,
                channel,
                item.src,
                network,
            )
    return public
