"""The ``file`` adapter: writes each post to ``var/outbox/<channel>/`` so a fresh checkout runs end to end.

Each delivery becomes ``<id>.txt`` (the parts, separated by a line ``---``) and ``<id>.json`` (the parts and
metadata). Writing is atomic (temporary file, fsync, rename), so a retry after a crash rewrites the same
files.

A post's images are copied next to them as ``<id>-1.jpg``, ``<id>-2.png``, … (the processed files, in the
channel's folder only); the ``.txt`` names each after the first part as a Markdown image,
``![alt](<id>-1.jpg)``, and the ``.json`` lists them under ``images`` (``file``, ``src``, ``alt``,
``mime``, ``width``, ``height``, ``bytes``, ``sha256``). The images are written before the post files, so a
post file never names a missing image.

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
from scheduler.adapters.media_checks import refuse_unfit_media
from scheduler.adapters.uploads import file_name
from scheduler.errors import AuthError, PermanentDeliveryError, TransientDeliveryError
from scheduler.media.model import Media, MediaLimits

PART_SEPARATOR = "\n---\n"


def write_atomically(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _alt(text: str) -> str:
    """Alt text inside ``![...]``: one line, brackets escaped."""
    return " ".join(text.split()).replace("[", "\\[").replace("]", "\\]")


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
    settings_keys = frozenset({"path"})
    media_limits = MediaLimits(
        max_bytes=20_000_000,
        mimes=("image/jpeg", "image/png", "image/webp", "image/gif"),
        alt_max=10_000,
        alt_unit="graphemes",
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

    def _images(self, post: Outgoing) -> list[tuple[Path, Media]]:
        """Where each image of the post is copied: ``<id>-<n>.<ext>`` in the channel's folder."""
        stem = post.delivery_id.replace("/", "_")
        return [
            (inside(self.folder, file_name(item, f"{stem}-{n}")), item)
            for n, item in enumerate(post.media, start=1)
        ]

    async def publish(self, post: Outgoing, journal: Journal) -> Receipt:
        text_path, json_path = self._paths(post)
        refuse_unfit_media(self.media_limits, post.media, network=self.network)
        images = self._images(post)
        record: dict[str, Any] = {
            "delivery_id": post.delivery_id,
            "idempotency_key": post.idempotency_key,
            "channel": post.channel,
            "source": post.article.source,
            "title": post.article.title,
            "url": post.article.url,
            "parts": list(post.parts),
            "images": [{"file": path.name, **item.to_json(), "sha256": item.sha256} for path, item in images],
            "written_at": datetime.now(UTC).isoformat(),
        }
        parts = list(post.parts)
        if images:
            shown = "\n".join(f"![{_alt(item.alt)}]({path.name})" for path, item in images)
            parts[0] = f"{parts[0]}\n\n{shown}"
        try:
            for path, item in images:
                await asyncio.to_thread(write_atomically, path, item.read_bytes())
            await asyncio.to_thread(write_atomically, text_path, PART_SEPARATOR.join(parts) + "\n")
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
