"""``tagcast preview`` and ``tagcast check``: the pipeline up to planning, shown or checked, never sent."""

from __future__ import annotations

from datetime import date, datetime, time
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scheduler.cli.common import (
    EXIT_PROBLEM,
    ConfigOption,
    JsonOption,
    handle_errors,
    open_workspace,
    print_json,
    print_json_list,
    stderr,
    stdout,
)

if TYPE_CHECKING:
    from scheduler.errors import ArticleError
    from scheduler.pipeline import PipelineResult

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Article files or folders [default: the workspace's posts/ folder].", show_default=False
    ),
]
ChannelOption = Annotated[
    list[str] | None,
    typer.Option("--channel", "-C", help="Only this channel (repeatable).", show_default=False),
]
NowOption = Annotated[
    datetime | None,
    typer.Option(
        "--now",
        metavar="TIME",
        help="Plan as if it were this time (ISO 8601; default: now).",
        formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        show_default=False,
    ),
]
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html",
        metavar="OUT.html",
        help="Write every post as a card to this self-contained HTML file (opens with no network), "
        "instead of showing it here.",
        dir_okay=False,
        show_default=False,
    ),
]

OnOption = Annotated[
    datetime | None,
    typer.Option(
        "--on",
        metavar="DATE",
        help="Show only what goes out on this day (YYYY-MM-DD), planned from its start.",
        formats=["%Y-%m-%d"],
        show_default=False,
    ),
]


def run_pipeline(
    config: str | None,
    paths: list[Path] | None,
    channels: list[str] | None,
    now: datetime | None,
    on: date | None = None,
    *,
    cards: bool = False,
) -> PipelineResult:
    """The pipeline's posts; with ``cards`` (preview) each post's link card too."""
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from scheduler.cli.outbox import require_channel
    from scheduler.media.cards import PreviewCards
    from scheduler.media.prepare import MediaCache, ThumbFitter
    from scheduler.pipeline import Pipeline

    workspace = open_workspace(config)
    for channel in channels or ():
        require_channel(workspace, channel)  # a usage error (exit 2), as in every other command
    if on is not None:
        zone = ZoneInfo(workspace.settings.defaults.timezone)
        now = datetime.combine(on, time(0), zone)
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    thumbs = ThumbFitter(MediaCache.for_workspace(workspace))
    pipeline = Pipeline(workspace, cards=PreviewCards(workspace, fit_thumb=thumbs) if cards else None)
    result = pipeline.run(paths or None, channels=channels or None, now=now)
    if on is not None:
        result.posts = [
            post for post in result.posts if post.scheduled_at is not None and post.scheduled_at.date() == on
        ]
    return result


def recycling_preview(config: str | None, now: datetime | None) -> PipelineResult:
    """What :func:`scheduler.recycling.recycle` would queue at ``now``, planned against the outbox's slots."""
    from dataclasses import replace
    from datetime import UTC

    from scheduler.media.cards import PreviewCards
    from scheduler.media.prepare import MediaCache, ThumbFitter
    from scheduler.pipeline import Pipeline, PipelineResult
    from scheduler.planning import plan_posts
    from scheduler.recycling import recycling_plan
    from scheduler.store import Store

    workspace = open_workspace(config)
    now = now or datetime.now(UTC)
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    pipeline = Pipeline(workspace)
    with Store.open(workspace.settings.store.url, root=workspace.root) as store:
        planned = recycling_plan(pipeline, store, now=now)
        taken = {post.channel: store.taken_slots(post.channel, since=now) for post in planned}
    posts = plan_posts(planned, pipeline.schedules, now=now, taken=taken)
    # the same card step as every preview: a recycled post carries its link card as the service sends it
    thumbs = ThumbFitter(MediaCache.for_workspace(workspace))
    posts, warnings = PreviewCards(workspace, fit_thumb=thumbs)(posts)
    return PipelineResult(
        posts=[replace(post, slot_note=f"recycled; {post.slot_note}") for post in posts], warnings=warnings
    )


def unreadable_entries(errors: list[ArticleError]) -> list[dict[str, Any]]:
    """The articles that could not be read, as entries of the ``--json`` array: one per file, with every key
    a post has (``channel``, ``network``, ``limit``, ``scheduled_at``, ... ``null``; ``parts`` and ``lengths``
    empty; ``active`` false) and its ``problems``, each naming the file and line."""
    problems: dict[str, list[str]] = {}
    for error in errors:
        problems.setdefault(error.source, []).append(str(error).replace("\n  hint: ", "; "))
    return [
        {
            "source": source,
            "title": None,
            "channel": None,
            "network": None,
            "rule": None,
            "template": None,
            "parts": [],
            "lengths": [],
            "limit": None,
            "limits": [],
            "unit": None,
            "shortened": False,
            "active": False,
            "scheduled_at": None,
            "slot_note": None,
            "hashtags": [],
            "problems": found,
            "media": [],
            "card": None,
            "left_out": [],
        }
        for source, found in problems.items()
    ]


def report_article_errors(result: PipelineResult) -> None:
    from scheduler.identity import find_copies
    from scheduler.safe_text import shown

    copies = find_copies(post.article for post in result.posts)
    if not (result.errors or copies or result.warnings):
        return  # rich's markup is loaded only to print something
    from rich.markup import escape

    for error in result.errors:
        stderr().print(f"[bold red]article error:[/] {escape(str(error))}", soft_wrap=True)
    for copy in copies:
        stderr().print(f"[yellow]warning:[/] {escape(copy.warning())}", soft_wrap=True)
    for warning in result.warnings:
        stderr().print(f"[yellow]warning:[/] {escape(shown(warning))}", soft_wrap=True)


def write_html(config: str | None, result: PipelineResult, out: Path) -> None:
    """Write the cards page to ``out`` (atomically) and say where on stdout."""
    from datetime import UTC, datetime

    from scheduler.config.atomic import atomic_write_text
    from scheduler.errors import UserError
    from scheduler.web.preview_page import preview_page, summary_text

    workspace = open_workspace(config)
    page = preview_page(
        result.posts,
        result.errors,
        workspace.settings.channels,
        root=workspace.root,
        generated=datetime.now(UTC),
        warnings=result.warnings,
    )
    try:
        atomic_write_text(out, page)
    except OSError as exc:
        raise UserError(
            f"cannot write {out}: {exc.strerror or exc}", hint="check that its folder exists and is writable"
        ) from None
    unreadable = len({error.source for error in result.errors})
    stdout().print(f"wrote {out}: {summary_text(result.posts, unreadable)}", soft_wrap=True)


@handle_errors
def preview(  # noqa: PLR0917  (typer passes parameters by keyword)
    paths: PathsArgument = None,
    channel: ChannelOption = None,
    as_json: JsonOption = False,
    now: NowOption = None,
    on: OnOption = None,
    recycling: Annotated[
        bool,
        typer.Option("--recycling", help="Show what evergreen recycling queues next (reads the outbox)."),
    ] = False,
    html: HtmlOption = None,
    config: ConfigOption = None,
) -> None:
    """Show every post exactly as it will be sent: text, length as the network counts it, slot, and rule.

    Nothing is stored or sent. Articles that cannot be read are reported on stderr and counted in the
    summary (with --json: an entry each, with channel null and its problems); the others are still shown.
    With --html OUT.html the posts are written as cards to that file, and only a summary is printed.
    """
    if recycling:
        result = recycling_preview(config, now)
    else:
        result = run_pipeline(config, paths, channel, now, on.date() if on is not None else None, cards=True)
    if html is not None:
        write_html(config, result, html)
    elif as_json:
        print_json_list(chain((post.to_json() for post in result.posts), unreadable_entries(result.errors)))
    else:
        from scheduler.cli.show_posts import show_posts

        show_posts(result.posts, unreadable=len({error.source for error in result.errors}))
    report_article_errors(result)


@handle_errors
def check(
    paths: PathsArgument = None,
    channel: ChannelOption = None,
    as_json: JsonOption = False,
    now: NowOption = None,
    config: ConfigOption = None,
) -> None:
    """Like preview, but print only the problems; exit 1 when any post or article has one (for CI).

    With --json: the posts with problems and the articles that cannot be read (channel null), as in preview.
    """
    result = run_pipeline(config, paths, channel, now)
    bad = [post for post in result.posts if post.problems]
    if as_json:
        print_json([post.to_json() for post in bad] + unreadable_entries(result.errors))
    else:
        from scheduler.cli.show_posts import show_check

        show_check(result.posts, bad, len({error.source for error in result.errors}))
    report_article_errors(result)
    if bad or result.errors:
        raise typer.Exit(EXIT_PROBLEM)


def register(app: typer.Typer) -> None:
    app.command()(preview)
    app.command()(check)
