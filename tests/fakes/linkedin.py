"""A fake LinkedIn Posts API enforcing the rules of docs/networks.md (LinkedIn section).

- Auth: ``Authorization: Bearer <token>``; a wrong one gets ``401 INVALID_ACCESS_TOKEN``. A token may post as
  its member and as the organizations it administers; another author is ``403``.
- ``POST /rest/posts``: ``LinkedIn-Version`` is required (``400`` without it), and must be an active
  ``YYYYMM`` (``426`` for a sunset or unknown one); ``X-Restli-Protocol-Version: 2.0.0`` is required;
  ``author``, ``commentary``, ``visibility``, ``distribution`` and ``lifecycleState`` are required
  (``422``). The commentary is at most 3000 characters as sent (escapes and hashtag templates included). It
  is read as little text: a hashtag is ``{hashtag|\\#|Tag}`` (shown ``#Tag``, listed in
  ``fake.posts[i].hashtags``; an escaped ``\\#Tag`` is plain text, no hashtag); it ends at the first
  unescaped reserved character that starts no template, silently (what LinkedIn is reported to do), and
  escapes are removed, so ``fake.posts[i].text`` is what readers see. The same commentary as an earlier post
  is ``422 DUPLICATE_POST … duplicate of urn:li:share:…``. Success is ``201`` with the URN in
  ``x-restli-id``.
- Images (docs/networks.md, LinkedIn: media): ``POST /rest/images?action=initializeUpload`` with
  ``{"initializeUploadRequest": {"owner"}}`` (an author the token may post as; the same version headers)
  answers ``value.uploadUrl`` and ``value.image`` (``urn:li:image:…``); ``PUT <uploadUrl>`` with the bytes
  (a decodable image of at most 10 MB, Bearer token) makes it ``AVAILABLE``. A post's ``content.media
  {id, altText}`` or ``content.multiImage.images`` (2-20) must name available images of the same owner
  (``422`` otherwise, so an image used before its upload is refused); ``altText`` at most 4086 characters
  (unconfirmed). ``fake.images`` holds every initialized image, ``fake.posts[i].images`` ``(sha256, alt)``.
- ``POST /oauth/v2/accessToken`` (``grant_type=refresh_token``, ``refresh_token``, ``client_id``,
  ``client_secret`` in the form) answers a new access token (``expires_in`` 60 days) and the same refresh
  token; ``expire_tokens()`` makes every access token stop working.
- ``POST /oauth/v2/introspectToken`` (``client_id``, ``client_secret``, ``token``): ``active`` and
  ``expires_at`` (``fake.expires_at``).
- ``GET /v2/userinfo`` (OpenID): ``sub`` and ``name``; ``403`` for a token without the ``openid`` scope.

``fake.posts`` lists what was created, oldest first.
"""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field

from scheduler.length.linkedin import RESERVED_CHARACTERS

from .multipart import decode_image
from .server import FakeServer, Reply, Request, route

ACTIVE_VERSIONS = frozenset({"202505", "202506", "202507", "202508", "202509", "202510", "202511"})
REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
MAX_IMAGE_BYTES = 10_000_000
MAX_ALT = 4086


@dataclass
class Image:
    urn: str
    owner: str
    sha256: str | None = None
    """Set by the upload: the image is then AVAILABLE."""


@dataclass
class Post:
    id: str
    author: str
    commentary: str
    text: str
    hashtags: list[str] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)


def error(status: int, message: str, code: str | None = None, **extra: object) -> Reply:
    body: dict[str, object] = {"status": status, "message": message, **extra}
    if code is not None:
        body["code"] = code
    return Reply.json(body, status)


_HASHTAG = re.compile(r"\{hashtag\|\\#\|((?:\\.|[^\\{}|])+)\}")
"""``{hashtag|\\#|Tag}``, the tag escaped as the rest of the text."""
_ESCAPE = re.compile(r"\\(.)")


def read_little_text(commentary: str) -> tuple[str, list[str]]:
    """What readers see (escapes removed, hashtag templates shown as ``#Tag``, nothing after the first
    unescaped reserved character that starts no template) and the hashtags, in order."""
    shown: list[str] = []
    hashtags: list[str] = []
    position = 0
    while position < len(commentary):
        char = commentary[position]
        if char == "\\" and position + 1 < len(commentary):
            shown.append(commentary[position + 1])
            position += 2
        elif (tag := _HASHTAG.match(commentary, position)) is not None:
            hashtags.append(_ESCAPE.sub(r"\1", tag[1]))
            shown.append("#" + hashtags[-1])
            position = tag.end()
        elif char in RESERVED_CHARACTERS:
            break
        else:
            shown.append(char)
            position += 1
    return "".join(shown), hashtags


class LinkedInFake(FakeServer):
    name = "linkedin"

    def __init__(
        self,
        *,
        token: str = "li-token",
        member: str = "AbC123xyz",
        name: str = "Alice Example",
        organizations: tuple[str, ...] = ("2414183",),
        openid: bool = True,
        names_duplicates: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.tokens = {token}
        self.refresh_token = "li-refresh"
        self.client = ("li-client", "li-client-secret")
        self.refreshes = 0
        self.expires_at = 4_102_444_800
        self.member = member
        self.member_name = name
        self.organizations = organizations
        self.openid = openid
        self.names_duplicates = names_duplicates
        self.posts: list[Post] = []
        self.images: dict[str, Image] = {}
        self._ids = itertools.count(7_141_138_937_766_000_000 + secrets.randbelow(10**6), 3)

    @property
    def person(self) -> str:
        return f"urn:li:person:{self.member}"

    def rate_limited(self, request: Request, wait: float) -> tuple[Reply, float]:
        reply, reset = super().rate_limited(request, wait)
        limited = error(429, "Resource level throttle limit for calls to this resource is reached.")
        limited.headers.update({"Retry-After": reply.headers["Retry-After"]})
        return limited, reset

    def server_error(self, request: Request, status: int) -> Reply:
        return error(status, "Internal Server Error")

    def not_found(self, request: Request) -> Reply:
        return error(404, f"No virtual resource found for {request.path}", "RESOURCE_NOT_FOUND")

    def _unauthorized(self, request: Request) -> Reply | None:
        if request.headers.get("authorization") not in {f"Bearer {t}" for t in self.tokens}:
            return error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", serviceErrorCode=65600)
        return None

    def _versioned(self, request: Request) -> Reply | None:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        version = request.headers.get("linkedin-version")
        if version is None:
            return error(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                "VERSION_MISSING",
            )
        if version not in ACTIVE_VERSIONS:
            return error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return error(400, "Restli protocol version 2.0.0 is required")
        return None

    def _authors(self) -> set[str]:
        return {self.person, *(f"urn:li:organization:{o}" for o in self.organizations)}

    @route("POST", "/rest/images")
    def initialize_upload(self, request: Request) -> Reply:
        if (refused := self._versioned(request)) is not None:
            return refused
        if request.arg("action") != "initializeUpload":
            return error(400, "action=initializeUpload is required")
        body = request.json()
        owner = body.get("initializeUploadRequest", {}).get("owner") if isinstance(body, dict) else None
        if owner not in self._authors():
            return error(403, f"Not enough permissions to upload images for {owner}", "ACCESS_DENIED")
        number = next(self._ids)
        image = Image(f"urn:li:image:D4E{number}", str(owner))
        self.images[image.urn] = image
        value = {
            "uploadUrlExpiresAt": 1_900_000_000_000,
            "uploadUrl": f"{self.base_url}/dms-uploads/{number}?ca=vector_image",
            "image": image.urn,
        }
        return Reply.json({"value": value})

    @route("PUT", "/dms-uploads/{number}")
    def upload(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        image = self.images.get(f"urn:li:image:D4E{request.params['number']}")
        if image is None:
            return error(404, "Upload URL not found")
        if len(request.body) > MAX_IMAGE_BYTES:
            return error(400, "Image is too large")
        try:
            picture = decode_image(request.body)
        except ValueError:
            return error(400, "Uploaded file is not a supported image")
        image.sha256 = picture.sha256
        return Reply(201)

    def _content_images(self, content: object, author: str) -> list[tuple[str, str]] | Reply:
        if content is None:
            return []
        entries: list[object] = []
        if isinstance(content, dict) and "media" in content:
            entries = [content["media"]]
        elif isinstance(content, dict) and "multiImage" in content:
            multi = content["multiImage"]
            entries = multi.get("images", []) if isinstance(multi, dict) else []
            if not 2 <= len(entries) <= 20:
                return error(422, "/content/multiImage/images: 2 to 20 images", "FIELD_LENGTH_TOO_LONG")
        else:
            return error(422, "/content: unsupported content", "UNSUPPORTED_CONTENT")
        found: list[tuple[str, str]] = []
        for entry in entries:
            urn = entry.get("id") if isinstance(entry, dict) else None
            alt = str(entry.get("altText") or "") if isinstance(entry, dict) else ""
            image = self.images.get(str(urn))
            if image is None or image.sha256 is None or image.owner != author:
                return error(422, f"/content: image {urn} is not an uploaded image of {author}")
            if len(alt) > MAX_ALT:
                return error(422, f"/content: altText must be at most {MAX_ALT}", "FIELD_LENGTH_TOO_LONG")
            found.append((image.sha256, alt))
        return found

    @route("POST", "/rest/posts")
    def create_post(self, request: Request) -> Reply:
        if (refused := self._versioned(request)) is not None:
            return refused
        body = request.json()
        if not isinstance(body, dict) or (missing := [k for k in REQUIRED if k not in body]):
            return error(422, f"Field Value validation failed in REQUEST_BODY: missing {missing}")
        author = str(body["author"])
        if author not in self._authors():
            return error(403, f"Not enough permissions to post as {author}", "ACCESS_DENIED")
        commentary = str(body["commentary"])
        if len(commentary) > 3000:
            return error(422, "/commentary: length must be at most 3000", "FIELD_LENGTH_TOO_LONG")
        for post in self.posts:
            if post.commentary == commentary and post.author == author:
                of = f" of {post.id}" if self.names_duplicates else ""
                message = f"Unable to create post: Content is a duplicate{of}"
                details = {"inputErrors": [{"code": "DUPLICATE_POST", "input": {"inputPath": {}}}]}
                return error(422, message, errorDetails=details)
        images = self._content_images(body.get("content"), author)
        if isinstance(images, Reply):
            return images
        text, hashtags = read_little_text(commentary)
        post = Post(f"urn:li:share:{next(self._ids)}", author, commentary, text, hashtags, images)
        self.posts.append(post)
        return Reply(201, b"", {"x-restli-id": post.id, "x-linkedin-id": post.id.rsplit(":", 1)[-1]})

    def expire_tokens(self) -> None:
        """Every access token stops working, as after its 60 days."""
        with self.lock:
            self.tokens.clear()

    @route("POST", "/oauth/v2/accessToken")
    def access_token(self, request: Request) -> Reply:
        form = request.fields()
        if form.get("grant_type") != "refresh_token":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return Reply.json(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, 401
            )
        if form.get("refresh_token") != self.refresh_token:
            return Reply.json(
                {
                    "error": "invalid_grant",
                    "error_description": "The provided authorization grant is invalid",
                },
                400,
            )
        self.refreshes += 1
        fresh = f"{self.token}-renewed-{self.refreshes}"
        self.tokens.add(fresh)
        body = {
            "access_token": fresh,
            "expires_in": 5_184_000,
            "refresh_token": self.refresh_token,
            "refresh_token_expires_in": 31_536_000,
            "scope": "w_member_social,openid,profile",
        }
        return Reply.json(body)

    @route("POST", "/oauth/v2/introspectToken")
    def introspect(self, request: Request) -> Reply:
        form = request.fields()
        if (form.get("client_id"), form.get("client_secret")) != self.client:
            return Reply.json(
                {"error": "invalid_client", "error_description": "Client authentication failed"}, 401
            )
        if form.get("token") not in self.tokens:
            return Reply.json({"active": False, "status": "expired"})
        return Reply.json(
            {"active": True, "status": "active", "client_id": self.client[0], "expires_at": self.expires_at}
        )

    @route("GET", "/v2/userinfo")
    def userinfo(self, request: Request) -> Reply:
        if (refused := self._unauthorized(request)) is not None:
            return refused
        if not self.openid:
            return error(403, "Not enough permissions to access: userinfo.GET.NO_VERSION", "ACCESS_DENIED")
        first, _, last = self.member_name.partition(" ")
        return Reply.json(
            {"sub": self.member, "name": self.member_name, "given_name": first, "family_name": last}
        )
