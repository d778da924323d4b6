"""Images and link cards: what an article carries (:class:`ImageRef`), what a network accepts
(:class:`MediaLimits`), and what is sent (:class:`Media`, :class:`Card`)."""

from scheduler.media.model import Card, ImageRef, Media, MediaLimits

__all__ = ["Card", "ImageRef", "Media", "MediaLimits"]
