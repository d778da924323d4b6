"""The ``file`` adapter: writes each post to ``var/outbox/<channel>/`` so a fresh checkout runs end to end.

Each delivery becomes ``<id>.txt`` (the parts, separated by a line ``---``) and ``<id>.json`` (the parts and
metadata). Writing is atomic (temporary file, fsync, rename), so a retry after a crash rewrites the same
files.

It never writes outside the outbox folder (``path``, default ``var/outbox``): the channel's folder and every
file in it are resolved (``..``, absolute names and symbolic links followed) and refused when they land
anywhere else, whatever the channel is called. The config refuses such channel names too; this is the second
line of defence. A channel that must write elsewhere names that folder in its ``path`` key.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.adapters.base import Adapter, Identity, Journal, Outgoing, Receipt
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError
from scheduler.media.model import MediaLimits

PART_SEPARATOR = "\n---\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OutsideOutbox(AuthError):
    """A channel name (or a delivery id) that would put a file outside the outbox folder. The channel is
    paused, like one whose credentials are wrong, until its config is fixed."""


def inside(base: Path, *names: str) -> Path:
    """``base / names...`` resolved; OutsideOutbox unless it lies strictly inside ``base`` (resolved)."""
    root = base.resolve()
    try:
        target = root.joinpath(*names).resolve()
    except (OSError, ValueError) as exc:  # a NUL byte, a symlink loop
        raise OutsideOutbox(f"{'/'.join(names)!r} is not a usable file name here: {exc}") from exc
    if target == root or not target.is_relative_to(root):
        raise OutsideOutbox(
            f"{'/'.join(names)!r} would write to {target}, outside the outbox folder {root}; a channel name "
            "is an identifier like 'file' or 'my_blog' (to write elsewhere, set the channel's `path` key)"
        )
    return target


class FileAdapter(Adapter):
    network = "file"
    media_limits = MediaLimits(
        max_bytes=20_000_000, mimes=("image/jpeg", "image/png", "image/webp", "image/gif"), alt_max=10_000
    )
    """The images are copied next to the post file, with their alt text."""

    @property
    def base(self) -> Path:
        """The outbox folder: the channel's ``path`` key, else ``var/outbox`` in the workspace."""
        base = Path(self.settings.path or "var/outbox").expanduser()
        return base if base.is_absolute() else self.root / base

    @property
    def folder(self) -> Path:
        """This channel's folder inside :attr:`base` (OutsideOutbox when its name leads anywhere else)."""
        return inside(self.base, self.channel)

    def _paths(self, post: Outgoing) -> tuple[Path, Path]:
        folder, stem = self.folder, post.delivery_id.replace("/", "_")
        return inside(folder, f"{stem}.txt"), inside(folder, f"{stem}.json")

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        text_path, json_path = self._paths(post)
        record: dict[str, Any] = {
            "delivery_id": post.delivery_id,
            "idempotency_key": post.idempotency_key,
            "channel": post.channel,
            "source": post.article.source,
            "title": post.article.title,
            "url": post.article.url,
            "parts": list(post.parts),
            "written_at": datetime.now(UTC).isoformat(),
        }
        try:
            await asyncio.to_thread(write_atomically, text_path, PART_SEPARATOR.join(post.parts) + "\n")
            await asyncio.to_thread(
                write_atomically, json_path, json.dumps(record, ensure_ascii=False, indent=2)
            )
        except OSError as exc:
            reason = f"cannot write to {self.folder}: {exc.strerror or exc}"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EAGAIN):
                raise TransientDeliveryError(reason, retry_after=60) from exc
            raise PermanentDeliveryError(f"{reason}; fix the folder or the channel's `path` key") from exc
        return Receipt(remote_ids=(post.delivery_id,), url=text_path.resolve().as_uri())

    async def reconcile(self, post: Outgoing, journal: Journal) -> Receipt | None:
        text_path, json_path = self._paths(post)
        if not json_path.is_file():
            return None
        try:
            record = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if record.get("parts") != list(post.parts):
            return None
        return Receipt(remote_ids=(post.delivery_id,), url=text_path.resolve().as_uri())

    async def check(self) -> Identity:
        folder = self.folder  # OutsideOutbox (an AuthError) for a name that leads outside
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuthError(f"cannot create the outbox folder {folder}: {exc.strerror}") from exc
        if not os.access(folder, os.W_OK):
            raise AuthError(f"the outbox folder {folder} is not writable")
        return Identity(account=f"files in {folder}", url=folder.resolve().as_uri())
