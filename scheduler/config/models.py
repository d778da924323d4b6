"""The shape of ``config/tagcast.toml``: the single source of truth for defaults, validation and JSON Schema.

Secrets (tokens, passwords, webhook URLs) are ``SecretStr``: they come from the environment, ``.env`` or a
``*_file`` key, and print as ``**********`` everywhere.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    field_validator,
    model_validator,
)

from scheduler.config.durations import Duration
from scheduler.config.names import PathText, TemplateName
from scheduler.config.urls import DatabaseUrl, HttpUrl
from scheduler.config.zones import ZoneName
from scheduler.errors import ScheduleError
from scheduler.slots.spec import parse_slot

SECRET_KEYS: tuple[str, ...] = (
    "token",
    "password",
    "api_key",
    "api_secret",
    "access_token",
    "access_token_secret",
    "oauth2_token",
    "oauth2_refresh_token",
    "client_secret",
    "bot_token",
    "webhook_url",
    "secret",
)
"""Channel keys that hold secrets. Each may also be given as ``<key>_file`` naming a file that holds it."""


def _check_slot(text: str) -> str:
    try:
        parse_slot(text)
    except ScheduleError as exc:
        raise ValueError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None
    return text


SlotText = Annotated[str, AfterValidator(_check_slot)]
"""One slot of a schedule, as written: ``"mon-fri 09:00"`` (each bad one is reported at its own line)."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class StoreSettings(Section):
    url: DatabaseUrl = Field(
        "sqlite:///var/tagcast.db",
        description="SQLAlchemy URL of the outbox. Relative SQLite paths are relative to the workspace.",
    )


class HashtagSettings(Section):
    aliases: dict[str, str] = Field(
        default_factory=dict, description='Rewrite tags before routing, e.g. {ww2 = "WorldWarII"}.'
    )
    blocklist: list[str] = Field(default_factory=list, description="Tags that are dropped everywhere.")


class ScheduleSettings(Section):
    timezone: ZoneName = Field("UTC", description="IANA time zone of the slots, e.g. Europe/Berlin.")
    slots: list[SlotText] = Field(
        default_factory=lambda: ["daily 09:00", "daily 13:00", "daily 18:00"],
        description='Posting times: "mon-fri 09:00", "sat,sun 10:30", "daily 18:00".',
    )
    min_gap: Duration = Field(default="0s", description="Least time between two posts of one channel.")  # type: ignore[assignment]
    daily_cap: int | None = Field(None, ge=1, description="At most this many posts a day per channel.")
    jitter: Duration = Field(default="0s", description="A fixed per-post offset in [0, jitter) after a slot.")  # type: ignore[assignment]
    quiet_dates: list[date] = Field(default_factory=list, description="Local dates with no posts.")


class ChannelSettings(Section):
    """One account on one network. A key its network does not use does nothing: `config validate` warns."""

    network: str = Field(description="Adapter name, e.g. mastodon, bluesky, x, telegram, discord, file.")
    enabled: bool = True
    schedule: str | None = Field(
        None, description="Name of a [schedules.*] table; default: defaults.schedule."
    )
    template: TemplateName | None = Field(
        None, description="Template file in config/templates/ (or a built-in)."
    )
    thread: bool = Field(False, description="Split a post that is too long into a numbered thread.")
    max_parts: int = Field(
        25, ge=1, description="At most this many parts in a thread; a longer one is a problem to fix."
    )
    max_hashtags: int | None = Field(None, ge=0, description="At most this many hashtags in a post.")
    limit: int | None = Field(
        None, ge=1, description="Override the network's length limit (e.g. your instance's)."
    )
    base_url: HttpUrl | None = Field(None, description="Server URL for self-hosted or compatible servers.")
    handle: str | None = None
    username: str | None = None
    visibility: str | None = None
    language: str | None = None
    spoiler_text: str | None = Field(
        None, description="Mastodon content warning; it counts toward the limit."
    )
    chat_id: str | None = None
    parse_mode: str | None = None
    client_id: str | None = None
    author: str | None = Field(None, description="LinkedIn author URN.")
    version: str | None = Field(None, description="LinkedIn API version sent as LinkedIn-Version (YYYYMM).")
    user_id: str | None = Field(None, description="Threads user id (default: me).")
    page_id: str | None = Field(None, description="Facebook Page id.")
    url: HttpUrl | None = Field(None, description="Target URL of the generic webhook adapter.")
    path: PathText | None = Field(None, description="Folder of the file adapter (default var/outbox).")
    options: dict[str, Any] = Field(default_factory=dict, description="Extra keys for third-party adapters.")
    request_deadline: Duration = Field(  # type: ignore[assignment]
        default="60s",
        description="Longest time one request to the network may take in all: connect, headers and body.",
    )
    max_response_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Largest answer read from the network, in bytes."
    )
    require_alt: bool = Field(
        True,
        description="An article image without alt text is a problem; false sends it without one "
        "(accessibility: describe images unless you have a reason not to).",
    )
    link_card: bool = Field(
        True,
        description="Send a link card (title, description, thumbnail) with a post that has a url and no "
        "images, on a network that builds none itself (bluesky); false: the bare link.",
    )
    max_images: int | None = Field(
        None, ge=1, description="Mastodon: at most this many images per post (your instance's, if fewer)."
    )
    image_max_bytes: int | None = Field(
        None, ge=1, description="Mastodon: images are fitted to at most this many bytes (your instance's)."
    )
    image_max_pixels: int | None = Field(
        None, ge=1, description="Mastodon: images are scaled to at most this many pixels, width x height."
    )
    alt_max: int | None = Field(
        None, ge=1, description="Mastodon: alt text of at most this many characters (your instance's)."
    )
    image_types: list[Literal["image/jpeg", "image/png", "image/webp", "image/gif"]] | None = Field(
        None,
        min_length=1,
        description="Mastodon: the image types your instance takes; others are converted to the first.",
    )

    token: SecretStr | None = None
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    oauth2_token: SecretStr | None = None
    oauth2_refresh_token: SecretStr | None = None
    client_secret: SecretStr | None = None
    bot_token: SecretStr | None = None
    webhook_url: SecretStr | None = None
    secret: SecretStr | None = None

    token_file: PathText | None = None
    password_file: PathText | None = None
    api_key_file: PathText | None = None
    api_secret_file: PathText | None = None
    access_token_file: PathText | None = None
    access_token_secret_file: PathText | None = None
    oauth2_token_file: PathText | None = None
    oauth2_refresh_token_file: PathText | None = None
    client_secret_file: PathText | None = None
    bot_token_file: PathText | None = None
    webhook_url_file: PathText | None = None
    secret_file: PathText | None = None

    @field_validator("network")
    @classmethod
    def _lowercase_network(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("request_deadline")
    @classmethod
    def _positive_deadline(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("request_deadline must be longer than 0s, e.g. '30s'")
        return value

    def secret_value(self, key: str) -> str | None:
        """The plain value of a secret key, for adapters only (never log it)."""
        value = getattr(self, key)
        return value.get_secret_value() if isinstance(value, SecretStr) else None


class RuleSettings(Section):
    """Route articles by hashtags. Tags are matched case-insensitively, with or without '#'."""

    name: str | None = Field(None, description="Shown in preview; default: rule-<n>.")
    tags: list[str] = Field(default_factory=list, description="Match when ANY of these tags is present.")
    all: list[str] = Field(default_factory=list, description="... and ALL of these are present.")
    none: list[str] = Field(default_factory=list, description="... and NONE of these is present.")
    channels: list[str] = Field(min_length=1, description="Channels that get the article.")
    template: TemplateName | None = Field(
        None, description="Template for these posts (before the channel's own)."
    )
    schedule: str | None = Field(None, description="Schedule for these posts (before the channel's own).")
    priority: int = Field(0, description="Higher first; equal priorities keep file order.")
    stop: bool = Field(False, description="When this rule matches, later rules are not considered.")
    anniversary: bool = Field(
        False,
        description="Plan articles with an event_date on its next anniversary, at the first slot that day.",
    )
    recycle_every: Duration | None = Field(
        None, description="Share an article of this rule again this long after its last post (evergreen)."
    )
    recycle_max: int | None = Field(None, ge=1, description="At most this many re-shares of one article.")
    recycle_templates: list[str] = Field(
        default_factory=list,
        description="Templates rotated for re-shares (at least two: the same text never twice in a row).",
    )

    @model_validator(mode="after")
    def _recycling_needs_variants(self) -> RuleSettings:
        if self.recycle_every is not None and len(self.recycle_templates) < 2:
            raise ValueError(
                "recycle_every needs recycle_templates with at least two templates, rotated so that the "
                'same text never goes out twice in a row, e.g. recycle_templates = ["again.j2", "ago.j2"]'
            )
        return self

    @model_validator(mode="after")
    def _strip_hashes(self) -> RuleSettings:
        for field in ("tags", "all", "none"):
            setattr(self, field, [t.lstrip("#＃").strip() for t in getattr(self, field)])
        return self


class ServiceSettings(Section):
    """How ``tagcast serve`` dispatches, retries and catches up."""

    misfire_grace: Duration = Field(  # type: ignore[assignment]
        default="30m",
        description="A post missed by less than this (downtime) goes out late; later ones are re-slotted.",
    )
    max_attempts: int = Field(8, ge=1, description="Give up (failed) after this many transient failures.")
    max_age: Duration = Field(default="2d", description="Give up retrying this long after the planned time.")  # type: ignore[assignment]
    backoff_base: Duration = Field(
        default="30s", description="First retry delay; doubles each attempt, with jitter."
    )  # type: ignore[assignment]
    backoff_max: Duration = Field(default="1h", description="Longest delay between two attempts.")  # type: ignore[assignment]
    concurrency: int = Field(4, ge=1, description="Channels sending at the same time.")
    lease: Duration = Field(
        default="5m", description="How long a claimed delivery stays reserved for one worker."
    )  # type: ignore[assignment]
    watch_interval: Duration = Field(
        default="10s", description="How often posts/ and the config are re-read."
    )  # type: ignore[assignment]
    request_timeout: Duration = Field(default="30s", description="Timeout of one HTTP request to a network.")  # type: ignore[assignment]
    shutdown_timeout: Duration = Field(
        default="30s", description="On SIGTERM, wait this long for sends in flight."
    )  # type: ignore[assignment]
    stall_after: Duration = Field(
        default="10m",
        description="/healthz and `status --check` report a stalled dispatcher when a due post waits this "
        "long and no delivery was claimed or settled meanwhile (0s: never).",
    )  # type: ignore[assignment]
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field(
        "auto",
        description="The service's event loop: uvloop (less CPU a post) when installed, else asyncio's own; "
        '"asyncio" to rule uvloop out.',
    )


class DefaultsSettings(Section):
    timezone: ZoneName = Field("UTC", description="Zone of the built-in schedule and of dates without one.")
    schedule: str = Field("default", description="Schedule of channels and rules that name none.")
    channels: list[str] = Field(
        default_factory=lambda: ["file"], description="The default rule: where articles no rule matches go."
    )
    posts: PathText = Field("posts", description="Folder of articles, relative to the workspace.")
    templates: PathText = Field(
        "config/templates", description="Folder of templates, relative to the workspace."
    )


class RenderSettings(Section):
    """What rendering one post may spend; a template over budget is a problem of that post, not a hang."""

    timeout: Duration = Field(
        default="2s", description="Longest time to render one post (every render fitting it needs)."
    )  # type: ignore[assignment]
    article_timeout: Duration = Field(
        default="10s", description="Longest time to render all the posts of one article."
    )  # type: ignore[assignment]
    max_output: int = Field(
        65_536,
        ge=1,
        description="Most characters a render may produce, besides 4 times the article's own text.",
    )


class MediaSettings(Section):
    """How images and link pages named by articles are fetched (``[media]``)."""

    private_addresses: Literal["refuse", "allow"] | list[IPvAnyNetwork] = Field(
        "refuse",
        description="Link pages and https images at a private, loopback or link-local address (or a name "
        "resolving to one, redirects included) are refused (refuse); allow fetches them (an intranet); a "
        'list of networks, e.g. ["10.1.0.0/16"], allows only those.',
    )


class SourceSettings(Section):
    """A feed polled by ``tagcast serve``: each new entry is an article (``[sources.NAME]``)."""

    url: str = Field(description='The feed: "https://..." or a file path relative to the workspace.')
    interval: Duration = Field(default="15m", description="How often the feed is fetched.")  # type: ignore[assignment]
    backfill: int = Field(0, ge=0, description="How many existing entries the first poll queues (newest).")
    max_bytes: int = Field(10_000_000, ge=1, description="A larger response is refused (an error).")
    timeout: Duration = Field(default="30s", description="Longest time for one fetch, start to end.")  # type: ignore[assignment]
    image_alt: Literal["feed", "title", "drop"] = Field(
        "feed",
        description="Alt text of an entry's image when the feed gives none: none (feed; a problem), the "
        "entry's title (title), or leave the image out (drop).",
    )
    recycle_every: Duration | None = Field(
        None, description="Share an entry of this feed again this long after its last post (evergreen)."
    )
    recycle_max: int | None = Field(None, ge=1, description="At most this many re-shares of one entry.")
    recycle_templates: list[str] = Field(
        default_factory=list,
        description="Templates rotated for re-shares (at least two: the same text never twice in a row).",
    )

    @model_validator(mode="after")
    def _recycling_needs_variants(self) -> SourceSettings:
        if self.recycle_every is not None and len(self.recycle_templates) < 2:
            raise ValueError(
                "recycle_every needs recycle_templates with at least two templates, rotated so that the "
                'same text never goes out twice in a row, e.g. recycle_templates = ["again.j2", "ago.j2"]'
            )
        return self
