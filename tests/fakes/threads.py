"""A fake Threads API (``graph.threads.net/v1.0``) enforcing the rules of docs/networks.md (Threads section).

- Auth: the ``access_token`` parameter (query string or form body) must be the user's token; otherwise
  ``400 {"error":{"type":"OAuthException","code":190}}``. The user is ``me`` or its numeric id.
- ``POST /{user}/threads`` (``media_type=TEXT``, ``text``, ``reply_to_id``?) creates a container and answers
  ``{"id"}``: ``text`` is required, at most 500 characters as Threads counts them (emoji by UTF-8 bytes) and
  at most 5 distinct links (``THREADS_API__LINK_LIMIT_EXCEEDED``); ``reply_to_id`` must be a published post.
  A container is ``FINISHED`` at once (``container_status`` changes that for new ones).
- Images (docs/networks.md, Threads: media; the carousel shape is from Meta's docs, unconfirmed there):
  ``media_type=IMAGE`` needs ``image_url``, a public ``https://`` URL (Meta fetches it: a loopback, private
  or ``http://`` address is refused, and nothing is fetched here), and takes ``alt_text`` (at most 1000
  characters, unconfirmed) and an optional ``text``; with ``is_carousel_item=true`` it is an item that cannot
  be published alone and takes no text. ``media_type=CAROUSEL`` needs ``children``: 2-20 ids of finished,
  unused item containers. An image container's status starts as :attr:`ThreadsFake.image_status`.
- ``POST /{user}/threads_publish`` (``creation_id``) publishes a ``FINISHED`` container once, answering the
  media id; publishing it again, or a container that is not ready, is an error. 250 posts and 1000 replies per
  24 hours (``quota_used`` / ``reply_quota_used`` start the count); past them the error has subcode 2207042.
- ``GET /{container}?fields=status`` (PUBLISHED, FINISHED, IN_PROGRESS, ERROR, EXPIRED); ``GET /{media}`` with
  ``permalink``; ``GET /{user}/threads`` and ``/replies`` (newest first);
  ``GET /{user}/threads_publishing_limit``; ``GET /me?fields=id,username``.

- ``GET /refresh_access_token?grant_type=th_refresh_token`` (no version in the path) answers a new token
  valid from then on, ``expires_in`` 60 days; with ``refresh_refused`` it refuses (as for a token less than a
  day old).

``fake.posts`` lists published posts, oldest first; ``fake.containers`` every container by id.
"""

from __future__ import annotations

import ipaddress
import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scheduler.adapters.registry import rules_for

from .server import FakeServer, Reply, Request, route

V = "/v1.0"


MAX_ALT = 1000


@dataclass
class Container:
    id: str
    text: str
    reply_to: str | None
    status: str
    media_id: str | None = None
    images: list[tuple[str, str | None]] = field(default_factory=list)
    """``(image_url, alt_text)`` of an IMAGE container, or of each item of a CAROUSEL."""
    carousel_item: bool = False
    used: bool = False


@dataclass
class Media:
    id: str
    text: str
    reply_to: str | None
    container: str
    images: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def permalink(self) -> str:
        return f"https://www.threads.net/@alice.threads/post/{self.id}"


def public_url(url: str) -> bool:
    """Whether Meta could fetch ``url``: https, a host name or a public address."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.hostname == "localhost":
        return False
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return True
    return address.is_global


def graph_error(message: str, code: int, status: int = 400, **extra: Any) -> Reply:
    body = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake", **extra}
    return Reply.json({"error": body}, status)


class ThreadsFake(FakeServer):
    name = "threads"

    def __init__(
        self,
        *,
        token: str = "th-token",
        user_id: str = "17841400000000001",
        username: str = "alice.threads",
        quota_used: int = 0,
        reply_quota_used: int = 0,
    ) -> None:
        super().__init__()
        self.token = token
        self.tokens = {token}
        self.refreshes = 0
        self.refresh_refused = False
        self.user_id = user_id
        self.username = username
        self.quota_used = quota_used
        self.reply_quota_used = reply_quota_used
        self.container_status = "FINISHED"
        self.image_status = "FINISHED"
        self.containers: dict[str, Container] = {}
        self.posts: list[Media] = []
        self._ids = itertools.count(18_000_000_000_000_000 + secrets.randbelow(10**6), 7)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{V}"

    # --- network-specific answers ------------------------------------------------------------------------

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        reply, reset = super().rate_limited(request, wait)
        error = graph_error("Application request limit reached", 4, 429)
        error.headers.update(reply.headers)
        error.headers["Content-Type"] = "application/json; charset=utf-8"
        return error, reset

    def server_error(self, request: Request, status: int) -> Reply:
        return graph_error("An unexpected error has occurred. Please retry your request later.", 2, status)

    def not_found(self, request: Request) -> Reply:
        return graph_error("Unsupported request - method type or path", 100, 404)

    def _refused(self, request: Request, user: str | None = None) -> Reply | None:
        token = request.arg("access_token") or request.fields().get("access_token")
        if token not in self.tokens:
            return graph_error("Invalid OAuth access token - Cannot parse access token", 190)
        if user is not None and user not in ("me", self.user_id):
            return graph_error(f"Unsupported request: object '{user}' does not exist", 100)
        return None

    def _next_id(self) -> str:
        return str(next(self._ids))

    # --- API ---------------------------------------------------------------------------------------------

    @route("GET", "/refresh_access_token")
    def refresh(self, request: Request) -> Reply:
        if (refused := self._refused(request)) is not None:
            return refused
        if request.arg("grant_type") != "th_refresh_token":
            return graph_error("Param grant_type must be th_refresh_token", 100)
        if self.refresh_refused:
            return graph_error("Session has not been active for at least 24 hours", 100)
        self.refreshes += 1
        fresh = f"{self.token}-refreshed-{self.refreshes}"
        self.tokens.add(fresh)
        return Reply.json({"access_token": fresh, "token_type": "bearer", "expires_in": 60 * 86400})

    @route("POST", V + "/{user}/threads")
    def create_container(self, request: Request) -> Reply:
        if (refused := self._refused(request, request.params["user"])) is not None:
            return refused
        form = {**{k: v[-1] for k, v in request.query.items()}, **request.fields()}
        media_type = form.get("media_type")
        if media_type not in ("TEXT", "IMAGE", "CAROUSEL"):
            return graph_error("Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100)
        text = str(form.get("text") or "")
        rules = rules_for("threads")
        if media_type == "TEXT" and not text.strip():
            return graph_error("Param text is required for a TEXT post", 100)
        images: list[tuple[str, str | None]] = []
        item = str(form.get("is_carousel_item") or "").lower() == "true"
        if media_type == "IMAGE":
            url, alt = str(form.get("image_url") or ""), form.get("alt_text")
            if not public_url(url):
                return graph_error("Param image_url must be a public https URL Meta can fetch", 100)
            if alt is not None and len(str(alt)) > MAX_ALT:
                return graph_error(f"Param alt_text must be at most {MAX_ALT} characters long", 100)
            if item and (text or form.get("reply_to_id")):
                return graph_error("A carousel item takes no text and no reply_to_id", 100)
            images = [(url, None if alt is None else str(alt))]
        elif media_type == "CAROUSEL":
            children = [c for c in str(form.get("children") or "").split(",") if c]
            found = [self.containers.get(c) for c in children]
            if not 2 <= len(children) <= 20:
                return graph_error("Param children must list 2 to 20 carousel items", 100)
            for child in found:
                if child is None or not child.carousel_item or child.used or child.status != "FINISHED":
                    return graph_error("Param children: each must be a finished, unused carousel item", 100)
            for child in found:
                assert child is not None
                child.used = True
                images += child.images
        if any("different links" in problem for problem in rules.violations(text)):
            return graph_error("THREADS_API__LINK_LIMIT_EXCEEDED", 100, error_subcode=4279009)
        if rules.count(text) > 500:
            return graph_error("Param text must be at most 500 characters long", 100)
        reply_to = form.get("reply_to_id")
        if reply_to is not None and not any(p.id == reply_to for p in self.posts):
            return graph_error(f"Param reply_to_id: media {reply_to} does not exist", 100)
        status = self.image_status if media_type == "IMAGE" else self.container_status
        container = Container(self._next_id(), text, reply_to, status, images=images, carousel_item=item)
        self.containers[container.id] = container
        return Reply.json({"id": container.id})

    @route("POST", V + "/{user}/threads_publish")
    def publish(self, request: Request) -> Reply:
        if (refused := self._refused(request, request.params["user"])) is not None:
            return refused
        creation_id = request.fields().get("creation_id") or request.arg("creation_id")
        container = self.containers.get(str(creation_id))
        if container is None:
            return graph_error("Param creation_id must be a valid container id", 100)
        if container.status != "FINISHED":
            return graph_error(f"The media is not ready to be published (status {container.status})", 9007)
        if container.carousel_item:
            return graph_error("A carousel item cannot be published on its own", 100)
        if container.reply_to is None and self.quota_used >= 250:
            return graph_error("You have reached the maximum number of posts", 9, 400, error_subcode=2207042)
        if container.reply_to is not None and self.reply_quota_used >= 1000:
            return graph_error(
                "You have reached the maximum number of replies", 9, 400, error_subcode=2207042
            )
        media = Media(
            self._next_id(), container.text, container.reply_to, container.id, list(container.images)
        )
        self.posts.append(media)
        container.status, container.media_id = "PUBLISHED", media.id
        if container.reply_to is None:
            self.quota_used += 1
        else:
            self.reply_quota_used += 1
        return Reply.json({"id": media.id})

    @route("GET", V + "/{user}/threads_publishing_limit")
    def publishing_limit(self, request: Request) -> Reply:
        if (refused := self._refused(request, request.params["user"])) is not None:
            return refused
        row = {
            "quota_usage": self.quota_used,
            "config": {"quota_total": 250, "quota_duration": 86400},
            "reply_quota_usage": self.reply_quota_used,
            "reply_config": {"quota_total": 1000, "quota_duration": 86400},
        }
        return Reply.json({"data": [row]})

    @route("GET", V + "/{user}/threads")
    def list_threads(self, request: Request) -> Reply:
        return self._listing(request, replies=False)

    @route("GET", V + "/{user}/replies")
    def list_replies(self, request: Request) -> Reply:
        return self._listing(request, replies=True)

    def _listing(self, request: Request, *, replies: bool) -> Reply:
        if (refused := self._refused(request, request.params["user"])) is not None:
            return refused
        limit = int(request.arg("limit") or 25)
        chosen = [p for p in reversed(self.posts) if (p.reply_to is not None) == replies][:limit]
        data = [
            {
                "id": p.id,
                "text": p.text,
                "permalink": p.permalink,
                **({"replied_to": {"id": p.reply_to}} if p.reply_to else {}),
            }
            for p in chosen
        ]
        return Reply.json({"data": data, "paging": {}})

    @route("GET", V + "/{node}")
    def node(self, request: Request) -> Reply:
        node = request.params["node"]
        if (refused := self._refused(request)) is not None:
            return refused
        if node in ("me", self.user_id):
            return Reply.json({"id": self.user_id, "username": self.username})
        if (container := self.containers.get(node)) is not None:
            return Reply.json({"id": container.id, "status": container.status})
        for media in self.posts:
            if media.id == node:
                return Reply.json({"id": media.id, "permalink": media.permalink, "text": media.text})
        return graph_error(f"Unsupported get request. Object with ID '{node}' does not exist", 100)
