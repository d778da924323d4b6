"""The images an article names: ``image`` with ``image_alt``, or ``images: [{src, alt}]`` (at most four).

``src`` is a path relative to the article file (it must stay inside the workspace) or an https address. What
can be known from the article alone is checked here, each problem naming the key and its line: the shape of
the keys, more than four images, an ``http://`` address, a file that is missing, outside the workspace,
unreadable or not an image. Whether the alt text is required, and how long it may be, depends on the channel:
:mod:`scheduler.media.prepare` checks that for each post.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from PIL import UnidentifiedImageError

from scheduler.articles.values import shown
from scheduler.errors import ArticleError
from scheduler.lazy import Image
from scheduler.media.model import MAX_IMAGES, ImageRef
from scheduler.safe_text import shown as safe_shown

IMAGE_KEYS = frozenset({"image", "image_alt", "images"})
_ITEM_KEYS = ("src", "alt")
_HTTPS = re.compile(r"https://[^\s/?#]+\S*", re.IGNORECASE)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)
_DRIVE = re.compile(r"[a-z]:[\\/]", re.IGNORECASE)
MAX_IMAGE_FILE_BYTES = 50 * 1024 * 1024
"""The largest image file read (a photo from a camera is a few MB; tagcast re-encodes it for each network)."""

Error = Callable[[str, str, str], ArticleError]
"""Builds the problem of one key: (key, message, hint) -> an error naming the file and the key's line."""


def _hints(syntax: Literal["yaml", "json"]) -> dict[str, str]:
    if syntax == "json":
        return {
            "one": '"image": "photo.jpg", "image_alt": "what the image shows"',
            "list": '"images": [{"src": "photo.jpg", "alt": "what it shows"}]',
        }
    return {
        "one": 'image: photo.jpg and image_alt: "what the image shows"',
        "list": 'images: [{src: photo.jpg, alt: "what it shows"}]',
    }


def read_images(
    values: Mapping[str, Any],
    error: Error,
    *,
    folder: Path | None,
    root: Path | None,
    syntax: Literal["yaml", "json"] = "yaml",
    item_lines: Mapping[str, int] | None = None,
) -> tuple[tuple[ImageRef, ...], list[ArticleError]]:
    """The article's images and every problem found in them. ``folder`` is the article file's folder and
    ``root`` the workspace (None: local files are not looked at here); ``item_lines`` has the line of each
    item of ``images`` (``images#1``, ...) where the format knows it."""
    hints = _hints(syntax)
    problems: list[ArticleError] = []
    image, alt, items = values.get("image"), values.get("image_alt"), values.get("images")
    refs: list[ImageRef] = []
    if items is not None and image is not None:
        problems.append(
            error("images", "write either image (with image_alt) or images, not both", hints["list"])
        )
        return (), problems
    if image is not None:
        src = _text(image)
        if src is None:
            problems.append(
                error("image", f"expected a path or an https address, got {_kind(image)}", hints["one"])
            )
        alt_text = _alt(alt, "image_alt", error, problems, hints["one"])
        if src is not None:
            refs.append(ImageRef(src, alt_text))
            problems.extend(_check_src(src, "image", error, folder=folder, root=root, hint=hints["one"]))
    elif alt is not None:
        problems.append(
            error("image_alt", "there is no image to describe", f"add the image too: {hints['one']}")
        )
    if items is not None:
        found: list[ArticleError] = []
        refs.extend(_read_list(items, error, found, hints["list"], folder=folder, root=root))
        problems.extend(_on_item_lines(found, item_lines or {}))
    if len(refs) > MAX_IMAGES:
        problems.append(
            error(
                "images",
                f"{len(refs)} images; a post carries at most {MAX_IMAGES}",
                f"keep the {MAX_IMAGES} that matter most",
            )
        )
    return tuple(refs), problems


def _on_item_lines(found: list[ArticleError], item_lines: Mapping[str, int]) -> list[ArticleError]:
    """Each problem of one item of ``images`` on that item's own line, where the format knows it."""
    moved = []
    for problem in found:
        number = re.search(r"images: item (\d+):", problem.message)
        line = item_lines.get(f"images#{number[1]}") if number else None
        if line is None or problem.line is None:
            moved.append(problem)
            continue
        where = f"{safe_shown(problem.source)}:{problem.line}: "
        text = problem.message.removeprefix(where)
        moved.append(ArticleError(problem.source, text, line=line, hint=problem.hint))
    return moved


def _read_list(
    items: Any,
    error: Error,
    problems: list[ArticleError],
    hint: str,
    *,
    folder: Path | None,
    root: Path | None,
) -> list[ImageRef]:
    if isinstance(items, str | dict):
        items = [items]
    if not isinstance(items, list):
        problems.append(error("images", f"expected a list of images, got {_kind(items)}", hint))
        return []
    refs = []
    each = f"each image is {hint}"
    for number, written in enumerate(items, start=1):
        item = {"src": written} if isinstance(written, str) else written
        if not isinstance(item, dict):
            problems.append(error("images", f"item {number}: expected {{src, alt}}, got {_kind(item)}", hint))
            continue
        for key in item:
            if str(key) not in _ITEM_KEYS:
                close = difflib.get_close_matches(str(key), _ITEM_KEYS, n=1, cutoff=0.5)
                guess = f"; did you mean '{close[0]}'?" if close else ""
                message = f"item {number}: unknown key {shown(key)}{guess}"
                problems.append(error("images", message, each))
        src = _text(item.get("src"))
        if src is None:
            message = f"item {number}: no src (a path or an https address)"
            problems.append(error("images", message, each))
            continue
        alt = _alt(item.get("alt"), "images", error, problems, hint, where=f"item {number}: alt")
        refs.append(ImageRef(src, alt))
        problems.extend(
            _check_src(src, "images", error, folder=folder, root=root, hint=hint, where=f"item {number}")
        )
    return refs


def _alt(
    value: Any,
    key: str,
    error: Error,
    problems: list[ArticleError],
    hint: str,
    *,
    where: str = "",
) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        label = f"{where}: " if where else ""
        problems.append(error(key, f"{label}expected alt text, got {_kind(value)}", hint))
        return None
    return value.strip() or None


def _check_src(
    src: str,
    key: str,
    error: Error,
    *,
    folder: Path | None,
    root: Path | None,
    hint: str,
    where: str = "",
) -> list[ArticleError]:
    label = f"{where}: " if where else ""
    if src.casefold().startswith("http://"):
        return [
            error(
                key,
                f"{label}{shown(src)} is not https",
                "use the https:// address of the image (tagcast downloads images only over https)",
            )
        ]
    if _HTTPS.fullmatch(src):
        return []
    if src.startswith("//") or (_SCHEME.match(src) and not _DRIVE.match(src)):
        return [
            error(
                key,
                f"{label}{shown(src)} is not a file path or an https address",
                f"write a path relative to the article file, or https://...; {hint}",
            )
        ]
    if os.path.isabs(src) or src.startswith(("/", "\\")):
        return [
            error(
                key,
                f"{label}{shown(src)} is an absolute path",
                "write the path relative to the article file, e.g. images/photo.jpg",
            )
        ]
    if folder is None or root is None:
        return []
    return [error(key, f"{label}{message}", fix) for message, fix in local_image_problems(src, folder, root)]


def local_image_problems(src: str, folder: Path, root: Path) -> list[tuple[str, str]]:
    """What is wrong with the local image ``src`` (relative to ``folder``), as (message, hint) pairs."""
    path = Path(os.path.abspath(folder / src))
    workspace = Path(os.path.abspath(root))
    real = Path(os.path.realpath(path))
    if not (path.is_relative_to(workspace) and real.is_relative_to(os.path.realpath(workspace))):
        return [
            (f"{shown(src)} is outside the workspace", "keep images inside the workspace, e.g. posts/images/")
        ]
    if not path.is_file():
        shown_folder = path.parent.relative_to(workspace).as_posix() or "."
        message = f"no such file {shown(src)} (looked in {shown_folder}/)"
        names = sorted(os.listdir(path.parent)) if path.parent.is_dir() else []
        close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean '{close[0]}'?"
        return [(message, "write the path relative to the article file")]
    problem = image_file_problem(path)
    if problem is not None:
        return [(f"{shown(src)} {problem}", "use a JPEG, PNG, WebP or GIF image file")]
    return []


def image_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be used as an image (read only its header), or None."""
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_FILE_BYTES:
            return f"is {size:,} bytes; an image file may have at most {MAX_IMAGE_FILE_BYTES:,}"
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format not in {"JPEG", "PNG", "WEBP", "GIF", "MPO"}:
                    return f"is a {image.format} image; tagcast takes JPEG, PNG, WebP and GIF"
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        return f"has more than {Image.MAX_IMAGE_PIXELS:,} pixels; tagcast refuses images that large"
    except UnidentifiedImageError:
        return "is not an image (Pillow cannot read it)"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _kind(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)
