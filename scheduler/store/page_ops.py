"""The link card cache: what each linked page says about itself (its meta tags) and when it was fetched, so a
page is fetched once per TTL by preview and the service alike (:mod:`scheduler.media.cards`)::

    store.save_link_page(PageMeta(url, fetched_at=now, title="...", description=None, image=None))
    store.link_page(url)   # PageMeta, or None if never fetched
"""

from __future__ import annotations

from sqlalchemy import select

from scheduler.media.model import PageMeta
from scheduler.store.base import StoreBase
from scheduler.store.models import utc
from scheduler.store.schema import link_pages


class PageMixin(StoreBase):
    def link_page(self, url: str) -> PageMeta | None:
        """The page's meta tags as last fetched, or ``None`` when it never was."""
        with self._read() as connection:
            row = connection.execute(select(link_pages).where(link_pages.c.url == url)).mappings().first()
        if row is None:
            return None
        return PageMeta(
            url=row["url"],
            fetched_at=row["fetched_at"],
            title=row["title"],
            description=row["description"],
            image=row["image"],
            error=row["error"],
        )

    def save_link_page(self, page: PageMeta) -> None:
        """Remember ``page`` (replacing what was known of its URL)."""
        values = {
            "fetched_at": utc(page.fetched_at),
            "title": page.title,
            "description": page.description,
            "image": page.image,
            "error": page.error,
        }
        with self._write() as connection:
            updated = connection.execute(
                link_pages.update().where(link_pages.c.url == page.url).values(**values)
            )
            if updated.rowcount == 0:
                connection.execute(link_pages.insert().values(url=page.url, **values))
