"""Notice edits without inotify: compare the size and modification time of files between two looks.

::

    posts = FolderWatch(workspace.path("posts"))        # the first look is taken now
    changed = posts.changes()                           # article files new or edited since the last look

Cheap enough to run every few seconds on thousands of files (one ``stat`` each), portable, and correct on
network file systems where change notifications are unreliable.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from scheduler.articles import find_article_files

Signature = tuple[int, int]


def signature(path: Path) -> Signature | None:
    """(mtime in ns, size), or None when the file is missing or unreadable."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class FolderWatch:
    """Article files under a folder (as :func:`scheduler.articles.find_article_files` finds them)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._seen = self._look()

    @property
    def files(self) -> list[Path]:
        """The article files of the last look, sorted."""
        return sorted(self._seen)

    def _look(self) -> dict[Path, Signature]:
        if not self.folder.is_dir():
            return {}
        found: dict[Path, Signature] = {}
        for path in find_article_files(self.folder):
            sig = signature(path)
            if sig is not None:
                found[path] = sig
        return found

    def changes(self) -> list[Path]:
        """Files that are new or changed since the last look (deleted ones are not reported)."""
        now = self._look()
        changed = sorted(path for path, sig in now.items() if self._seen.get(path) != sig)
        self._seen = now
        return changed


class FilesWatch:
    """Fixed files (the config, ``.env``) and folders of files (templates): did any of them change?"""

    def __init__(self, files: Iterable[Path], folders: Iterable[Path] = ()) -> None:
        self.files = list(files)
        self.folders = list(folders)
        self._seen = self._look()

    def _look(self) -> dict[Path, Signature | None]:
        found: dict[Path, Signature | None] = {path: signature(path) for path in self.files}
        for folder in self.folders:
            if folder.is_dir():
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        found[path] = signature(path)
        return found

    def changed(self) -> bool:
        """True once after any watched file appeared, disappeared or changed."""
        now = self._look()
        if now == self._seen:
            return False
        self._seen = now
        return True
