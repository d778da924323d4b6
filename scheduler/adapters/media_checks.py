"""What an adapter checks of a post's images before it sends anything (as ``refuse_over_length`` does for
text): the preview already reported an image that does not fit, so one that reaches an adapter anyway is
refused with :class:`~scheduler.errors.PermanentDeliveryError`, never cut or half sent."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from scheduler.errors import PermanentDeliveryError
from scheduler.media.model import Media, MediaLimits

log = logging.getLogger("tagcast.adapters.media")


def refuse_unfit_media(limits: MediaLimits | None, media: Sequence[Media], *, network: str) -> None:
    """PermanentDeliveryError when ``media`` breaks ``limits``: too many images, an image over the byte
    limit, or an alt text over the network's alt limit (counted in characters)."""
    if not media:
        return
    if limits is None:
        raise PermanentDeliveryError(
            f"{network}: this network takes no images, but the post has {len(media)}"
        )
    if len(media) > limits.max_images:
        raise PermanentDeliveryError(
            f"{network}: the post has {len(media)} images, the network takes at most {limits.max_images}"
        )
    for number, item in enumerate(media, start=1):
        if item.size > limits.max_bytes:
            raise PermanentDeliveryError(
                f"{network}: image {number} ({item.src}) is {item.size} bytes after processing, "
                f"limit {limits.max_bytes}"
            )
        if limits.alt_max is not None and len(item.alt) > limits.alt_max:
            raise PermanentDeliveryError(
                f"{network}: the alt text of image {number} ({item.src}) is {len(item.alt)} characters, "
                f"limit {limits.alt_max}; shorten it in the article"
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
