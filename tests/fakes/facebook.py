"""A fake Facebook Graph API for Page posts, enforcing the rules of docs/networks.md (Facebook Pages section).

- Auth: the ``access_token`` parameter (query string or form body) must be the Page token; otherwise
  ``400 {"error":{"type":"OAuthException","code":190}}``. Another page id is ``400`` code 100.
- ``POST /v21.0/{page_id}/feed`` with ``message`` and/or ``link``: one of them is required (code 100), the
  message is at most 63,206 characters; the same message as an earlier post is ``(#506) Duplicate status
  message``; success is ``{"id":"{page_id}_{post_id}"}``.
- ``POST /v21.0/{page_id}/photos`` (multipart; docs/networks.md, Facebook Pages: media): ``source`` a
  decodable image under 10 MB, ``alt_text_custom`` (its limit is unconfirmed, so none is enforced),
  ``message``; published (the default) it is a post too, answering ``{"id": photo, "post_id"}``; with
  ``published=false`` only a photo ``{"id"}``, which a feed post may attach once with
  ``attached_media[n] = {"media_fbid": id}`` (an unknown, published or already attached photo is code 100).
  ``fake.photos`` holds every photo, ``fake.posts[i].photos`` those of a post;
- ``GET /v21.0/{page_id}?fields=name``, ``GET /v21.0/{post_id}?fields=permalink_url``, and
  ``GET /v21.0/debug_token?input_token=`` (``expires_at``: ``token_expires_at``, 0 for never).
- A ``500`` fault answers Graph code 2 and, like Facebook (koala#699), may have made the post: with
  ``fake.commit_on_500`` the request is handled before the error is answered.

``fake.posts`` lists what was created, oldest first.
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from .multipart import BadForm, decode_image, form_parts, is_multipart
from .server import FakeServer, Reply, Request, route

V = "/v21.0"
LIMIT = 63_206
MAX_PHOTO_BYTES = 10_000_000


@dataclass
class Photo:
    id: str
    sha256: str
    alt: str | None
    published: bool
    attached: bool = False


@dataclass
class PagePost:
    id: str
    message: str
    link: str | None
    photos: list[Photo] = field(default_factory=list)


def fields_of(request: Request) -> dict[str, Any]:
    """The form fields of a urlencoded or multipart body (files left out)."""
    if is_multipart(request):
        try:
            return dict(form_parts(request).values())
        except BadForm:
            return {}
    return request.fields()


def graph_error(message: str, code: int, status: int = 400, **extra: Any) -> Reply:
    body = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Bfake", **extra}
    return Reply.json({"error": body}, status)


class FacebookFake(FakeServer):
    name = "facebook"

    def __init__(
        self,
        *,
        token: str = "fb-page-token",
        page_id: str = "104857392011234",
        page_name: str = "Tagcast News",
        token_expires_at: int = 0,
    ) -> None:
        super().__init__()
        self.token = token
        self.page_id = page_id
        self.page_name = page_name
        self.token_expires_at = token_expires_at
        self.commit_on_500 = False
        self.posts: list[PagePost] = []
        self.photos: dict[str, Photo] = {}
        self._ids = itertools.count(122_000_000_000_000_000 + secrets.randbelow(10**6), 11)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{V}"

    def server_error(self, request: Request, status: int) -> Reply:
        if status == 500:
            if self.commit_on_500:
                self._locked_route(request)
            return graph_error("An unexpected error has occurred. Please retry your request later.", 2, 500)
        return Reply.text("Service Unavailable", status)

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        reply, reset = super().rate_limited(request, wait)
        limited = graph_error("(#32) Page request limit reached", 32, 429)
        limited.headers["Retry-After"] = reply.headers["Retry-After"]
        return limited, reset

    def not_found(self, request: Request) -> Reply:
        return graph_error("Unknown path components", 2500, 404)

    def _refused(self, request: Request) -> Reply | None:
        token = request.arg("access_token") or fields_of(request).get("access_token")
        if token != self.token:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        return None

    @route("POST", V + "/{page}/feed")
    def feed(self, request: Request) -> Reply:
        if (refused := self._refused(request)) is not None:
            return refused
        if request.params["page"] != self.page_id:
            return graph_error(f"Unsupported post request. Object with ID '{request.params['page']}'", 100)
        form = request.fields()
        message, link = form.get("message"), form.get("link")
        attached: list[Photo] = []
        for n in range(len(form)):
            if f"attached_media[{n}]" not in form:
                break
            try:
                fbid = str(json.loads(form[f"attached_media[{n}]"])["media_fbid"])
            except (ValueError, KeyError, TypeError):
                return graph_error(f'(#100) attached_media[{n}] must be {{"media_fbid": id}}', 100)
            photo = self.photos.get(fbid)
            if photo is None or photo.published or photo.attached:
                return graph_error(f"(#100) media_fbid {fbid} is not an unpublished photo of the Page", 100)
            attached.append(photo)
        if not message and not link and not attached:
            return graph_error("(#100) Missing message or attachment", 100)
        if message and len(message) > LIMIT:
            return graph_error("(#100) The message is too long", 100)
        if message and any(p.message == message for p in self.posts):
            return graph_error("(#506) Duplicate status message", 506)
        for photo in attached:
            photo.attached = True
        post = PagePost(f"{self.page_id}_{next(self._ids)}", str(message or ""), link, attached)
        self.posts.append(post)
        return Reply.json({"id": post.id})

    @route("POST", V + "/{page}/photos")
    def photo(self, request: Request) -> Reply:
        if (refused := self._refused(request)) is not None:
            return refused
        if request.params["page"] != self.page_id:
            return graph_error(f"Unsupported post request. Object with ID '{request.params['page']}'", 100)
        try:
            form = form_parts(request)
        except BadForm:
            return graph_error("(#324) Requires upload file", 324)
        source = form.file("source")
        if source is None:
            return graph_error("(#324) Requires upload file", 324)
        if len(source.data) >= MAX_PHOTO_BYTES:
            return graph_error("(#100) Photos must be smaller than 10 MB", 100)
        try:
            picture = decode_image(source.data)
        except ValueError:
            return graph_error("(#100) Invalid image file", 100)
        fields = form.values()
        published = fields.get("published", "true").lower() != "false"
        photo = Photo(str(next(self._ids)), picture.sha256, fields.get("alt_text_custom"), published)
        self.photos[photo.id] = photo
        if not published:
            return Reply.json({"id": photo.id})
        post = PagePost(f"{self.page_id}_{next(self._ids)}", fields.get("message", ""), None, [photo])
        self.posts.append(post)
        return Reply.json({"id": photo.id, "post_id": post.id})

    @route("GET", V + "/debug_token")
    def debug_token(self, request: Request) -> Reply:
        if (refused := self._refused(request)) is not None:
            return refused
        if request.arg("input_token") != self.token:
            return graph_error("(#100) The input_token is invalid", 100)
        data = {
            "app_id": "1234567890",
            "type": "PAGE",
            "is_valid": True,
            "expires_at": self.token_expires_at,
            "profile_id": self.page_id,
            "scopes": ["pages_manage_posts", "pages_read_engagement", "pages_show_list"],
        }
        return Reply.json({"data": data})

    @route("GET", V + "/{node}")
    def node(self, request: Request) -> Reply:
        if (refused := self._refused(request)) is not None:
            return refused
        node = request.params["node"]
        if node == self.page_id:
            link = f"https://www.facebook.com/{self.page_id}"
            return Reply.json({"id": self.page_id, "name": self.page_name, "link": link})
        for post in self.posts:
            if post.id == node:
                page, _, story = post.id.partition("_")
                return Reply.json(
                    {"id": post.id, "permalink_url": f"https://www.facebook.com/{page}/posts/{story}"}
                )
        return graph_error(f"Object with ID '{node}' does not exist", 100)
