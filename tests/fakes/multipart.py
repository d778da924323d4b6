"""Read a ``multipart/form-data`` request in a fake, as a real server's form parser does.

>>> parts = form_parts(request)                 # in a route handler
>>> parts.value("chat_id"), parts.file("photo").data[:4]
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import io
from dataclasses import dataclass

from PIL import Image

from fakes.server import Request


@dataclass(frozen=True)
class Part:
    """One field: ``filename`` and ``content_type`` are set for a file."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        return self.data.decode("utf-8")


class BadForm(ValueError):
    """Not a multipart body, or a part without a name."""


@dataclass(frozen=True)
class Form:
    parts: list[Part]

    def value(self, name: str) -> str | None:
        found = [p for p in self.parts if p.name == name and p.filename is None]
        return found[-1].text if found else None

    def values(self) -> dict[str, str]:
        return {p.name: p.text for p in self.parts if p.filename is None}

    def file(self, name: str) -> Part | None:
        found = [p for p in self.parts if p.name == name and p.filename is not None]
        return found[-1] if found else None

    def files(self) -> list[Part]:
        return [p for p in self.parts if p.filename is not None]


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


def form_parts(request: Request) -> Form:
    """The parts of a multipart body (BadForm when it is not one)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data") or "boundary=" not in content_type:
        raise BadForm(f"expected multipart/form-data with a boundary, got {content_type or 'no type'}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise BadForm("the body is not multipart")
    parts: list[Part] = []
    for item in message.iter_parts():
        name = item.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise BadForm("a part has no name in its Content-Disposition")
        data = item.get_payload(decode=True)
        filename = item.get_filename()
        parts.append(
            Part(
                name=name,
                data=data if isinstance(data, bytes) else b"",
                filename=filename,
                content_type=item.get_content_type() if filename is not None else None,
            )
        )
    return Form(parts)


@dataclass(frozen=True)
class Picture:
    """An uploaded image as a server sees it after decoding."""

    mime: str
    width: int
    height: int
    size: int
    sha256: str


MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def decode_image(data: bytes) -> Picture:
    """Decode ``data`` with Pillow (ValueError when it is no image), as a server checks an upload."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mime = MIMES.get(image.format or "", "?")
            return Picture(mime, image.width, image.height, len(data), hashlib.sha256(data).hexdigest())
    except (OSError, SyntaxError) as exc:
        raise ValueError(f"not an image: {exc}") from exc
